//! The business time zone travels with the pull: a phone synced with a
//! server set to `--business-time-zone Europe/Berlin` keeps Berlin's zone
//! and lists its day by Berlin's calendar, not the phone's or UTC's.

use chrono::{Duration, TimeZone, Utc};
use doorstep_e2e::{Center, Phone};
use doorstep_server::app::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_keeps_the_servers_business_time_zone_and_lists_its_days() {
    let center = Center::start_with(Config {
        business_time_zone: "Europe/Berlin".into(),
        ..Config::default()
    })
    .await;
    let (device, token) = center.technician("T-7").await;
    // Next year's 1 July 22:30 UTC is already 2 July 00:30 in Berlin (CEST).
    let next_year = Utc::now()
        .date_naive()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap()
        + 1;
    let start = Utc.with_ymd_and_hms(next_year, 7, 1, 22, 30, 0).unwrap();
    let a = center.assignment("T-7", start).await;
    let phone = Phone::new("T-7", &device, &token, &center.base, Utc::now());
    phone.sync().await.expect("the first sync");
    let zone = phone.store.business_zone().unwrap();
    assert_eq!(zone.name, "Europe/Berlin");
    assert_eq!(zone.offset_at(start).local_minus_utc(), 7200, "summer time");
    let on = |day: chrono::NaiveDate| {
        phone
            .store
            .visits_on_business_day(day)
            .unwrap()
            .into_iter()
            .map(|v| v.assignment_id)
            .collect::<Vec<_>>()
    };
    let berlin_day = (start + Duration::hours(2)).date_naive();
    assert_eq!(on(berlin_day), vec![a.clone()]);
    assert!(on(start.date_naive()).is_empty(), "not on UTC's 1 July");
}
