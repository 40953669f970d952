//! The business time zone (issue 15): every local date the rules use is the
//! business zone's — the free software-adjustment month turns at local
//! midnight, not at UTC midnight; the phone keeps the zone the server sends;
//! the day's list is the zone's day. And the lateness tiers compare exact
//! durations (STANDARDS §2.6).
mod support;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use doorstep_core::business_time::{BusinessZone, ZoneTransition};
use doorstep_core::ids::{DeviceId, TechnicianId};
use doorstep_core::quote::Payer;
use doorstep_core::store::{Enrollment, Store, StoreError};
use doorstep_core::workflow::event::Punctuality;
use doorstep_core::WorkflowError;
use serde_json::json;
use support::{at, fix_near, Run};

fn arrival_after(late: &str) -> Punctuality {
    let mut run = Run::new("appliance_repair");
    run.departed().at(late);
    run.ok(json!({"type": "arrive", "location": fix_near(30.0)}));
    run.state().arrival.as_ref().unwrap().punctuality
}

#[test]
fn lateness_of_14_min_1_s_is_the_minor_tier() {
    // The window starts at 10:00.
    assert_eq!(
        arrival_after("10:14:01"),
        Punctuality::LateMinor { minutes_late: 14 }
    );
    assert_eq!(
        arrival_after("10:14:59"),
        Punctuality::LateMinor { minutes_late: 14 }
    );
}

#[test]
fn lateness_of_exactly_15_min_is_the_serious_tier() {
    assert_eq!(
        arrival_after("10:15:00"),
        Punctuality::LateSerious { minutes_late: 15 }
    );
}

#[test]
fn lateness_of_a_few_seconds_counts_as_one_minute_late() {
    assert_eq!(
        arrival_after("10:00:01"),
        Punctuality::LateMinor { minutes_late: 1 }
    );
}

/// The software adjustment's payer when quoted at `quoted_at` (UTC) on an
/// appliance installed on 26 Oct 2026.
fn adjustment_payer_at(quoted_at: chrono::DateTime<Utc>) -> Payer {
    let mut a = support::assignment("appliance_repair");
    a.product.installed_on = NaiveDate::from_ymd_opt(2026, 10, 26);
    let mut run = Run::with_assignment(a);
    run.diagnosed("fix_on_site");
    run.now = quoted_at;
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "software_adjustment"}]}}));
    let quote = run.state().quote.as_ref().unwrap();
    quote
        .lines
        .iter()
        .find(|l| l.item == "software_adjustment")
        .unwrap()
        .payer
}

#[test]
fn the_free_month_ends_at_beijing_midnight_not_utc_midnight() {
    // Installed 26 Oct: free through 25 Nov, Beijing time.
    // 25 Nov 15:59 UTC is 23:59 in Beijing: still free.
    assert_eq!(adjustment_payer_at(at("15:59")), Payer::Free);
    // 25 Nov 16:00 UTC is 26 Nov 00:00 in Beijing: the month is over,
    // although the UTC date is still 25 Nov.
    assert_eq!(adjustment_payer_at(at("16:00")), Payer::Customer);
}

fn temp_store(tag: &str) -> (std::path::PathBuf, Store) {
    let dir = std::env::temp_dir().join(format!(
        "doorstep-zone-{tag}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(
        dir.join("store.db"),
        &Enrollment {
            device_id: DeviceId::new("phone-7").unwrap(),
            technician_id: TechnicianId::new("T-7").unwrap(),
            technician_name: "Li Wei".into(),
        },
    )
    .unwrap();
    (dir, store)
}

fn berlin() -> BusinessZone {
    BusinessZone {
        name: "Europe/Berlin".into(),
        offset_seconds: 3600,
        transitions: vec![ZoneTransition {
            at: Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap(),
            offset_seconds: 3600,
        }],
    }
}

#[test]
fn the_phone_keeps_the_zone_the_server_sent_across_restarts() {
    let (dir, store) = temp_store("keep");
    assert_eq!(store.business_zone().unwrap(), BusinessZone::shanghai());
    let now = at("09:00");
    store.set_business_zone(&berlin(), now).unwrap();
    drop(store);
    let reopened = Store::open(
        dir.join("store.db"),
        &Enrollment {
            device_id: DeviceId::new("phone-7").unwrap(),
            technician_id: TechnicianId::new("T-7").unwrap(),
            technician_name: "Li Wei".into(),
        },
    )
    .unwrap();
    assert_eq!(reopened.business_zone().unwrap(), berlin());
    // 25 Nov 22:30 UTC is 23:30 on 25 Nov in Berlin (06:30 on 26 Nov in Shanghai).
    let late_evening = at("22:30");
    assert_eq!(
        reopened.business_today(late_evening).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_zone_that_does_not_check_out_is_refused_naming_the_field() {
    let (dir, store) = temp_store("refuse");
    let bad = BusinessZone::fixed("Mars/Olympus", 20 * 3600);
    let err = store.set_business_zone(&bad, at("09:00")).unwrap_err();
    match err {
        StoreError::Workflow(WorkflowError::InvalidInput { field, .. }) => {
            assert_eq!(field, "business_time_zone")
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(store.business_zone().unwrap(), BusinessZone::shanghai());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_days_list_is_the_business_zones_day() {
    let (dir, store) = temp_store("list");
    // A window starting 26 Nov 07:00 Beijing = 25 Nov 23:00 UTC.
    let start = at("23:00");
    let mut a = support::assignment("appliance_repair");
    a.requested_window = Some(doorstep_core::TimeWindow {
        start,
        end: start + Duration::hours(2),
    });
    a.technician = Some(TechnicianId::new("T-7").unwrap());
    store
        .receive_assignment(
            &doorstep_core::protocol::ChangeKind::Assignment {
                assignment: Box::new(a),
            },
            at("08:00"),
        )
        .unwrap();
    let on = |d| {
        store
            .visits_on_business_day(NaiveDate::from_ymd_opt(2026, 11, d).unwrap())
            .unwrap()
            .len()
    };
    assert_eq!(
        (on(25), on(26)),
        (0, 1),
        "Beijing's 26 Nov, not UTC's 25 Nov"
    );
    let _ = std::fs::remove_dir_all(dir);
}
