//! Issue 15's property: the outcome of every command is the same whatever
//! the host's time zone (`TZ`) and the device's UTC offset, given the same
//! business time zone. A whole visit is run with its commands' times read
//! on a device clock at a random offset, under a random host `TZ`; the
//! facts it records, and the price of a software adjustment quoted on
//! either side of Beijing's midnight, must be those the business zone
//! (Asia/Shanghai) decides.
//!
//! Its own test binary: it sets `TZ` for the whole process.
mod support;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::quote::Payer;
use proptest::prelude::*;
use serde_json::json;
use support::{at, Run};

const HOST_ZONES: &[&str] = &[
    "UTC",
    "Asia/Shanghai",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Europe/Berlin",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
];

/// `t` as a device at `offset_minutes` from UTC reads and reports it.
fn on_device(t: DateTime<Utc>, offset_minutes: i32) -> DateTime<Utc> {
    let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
    let shown = t.with_timezone(&offset).to_rfc3339();
    DateTime::parse_from_rfc3339(&shown)
        .unwrap()
        .with_timezone(&Utc)
}

/// A whole appliance visit, every command's time read on the device; the
/// recorded facts (kinds and times) and the outcome.
fn whole_visit(offset_minutes: i32) -> String {
    let mut run = Run::new("appliance_repair");
    run.signed();
    run.now = on_device(run.now + Duration::minutes(2), offset_minutes);
    run.ok(json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true}));
    let facts: Vec<_> = run
        .visit
        .events
        .iter()
        .map(|e| (e.recorded_at, doorstep_core::wire_name(&e.kind)))
        .collect();
    format!("{facts:?} {:?}", run.state().outcome)
}

/// The software adjustment's payer quoted at `t` on a device at
/// `offset_minutes`, for an appliance installed on 26 Oct 2026.
fn adjustment_payer(t: DateTime<Utc>, offset_minutes: i32) -> Payer {
    let mut a = support::assignment("appliance_repair");
    a.product.installed_on = NaiveDate::from_ymd_opt(2026, 10, 26);
    let mut run = Run::with_assignment(a);
    run.diagnosed("fix_on_site");
    run.now = on_device(t, offset_minutes);
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "software_adjustment"}]}}));
    run.state()
        .quote
        .as_ref()
        .unwrap()
        .lines
        .iter()
        .find(|l| l.item == "software_adjustment")
        .unwrap()
        .payer
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_outcome_of_every_command_is_the_same_whatever_the_host_zone_and_device_offset(
        host in prop::sample::select(HOST_ZONES.to_vec()),
        offset_quarters in -48i32..=56,
        minutes_after_diagnosis in 0i64..1440,
    ) {
        std::env::set_var("TZ", "UTC");
        let reference_visit = whole_visit(0);
        std::env::set_var("TZ", host);
        let offset_minutes = offset_quarters * 15;
        prop_assert_eq!(whole_visit(offset_minutes), reference_visit, "host TZ {}", host);

        // Free through 25 Nov in Beijing, whatever the host and the device say.
        let t = at("10:10") + Duration::minutes(minutes_after_diagnosis);
        let beijing_day = BusinessZone::shanghai().date_of(t);
        let want = if beijing_day <= NaiveDate::from_ymd_opt(2026, 11, 25).unwrap() {
            Payer::Free
        } else {
            Payer::Customer
        };
        prop_assert_eq!(adjustment_payer(t, offset_minutes), want, "at {} on host TZ {}", t, host);
    }
}
