//! The phone library formats local times for the shells: the business
//! time zone's (kept in the store, Asia/Shanghai until the first sync),
//! never the phone's own, in both languages.

use chrono::{TimeZone, Utc};
use doorstep_e2e::TempDir;
use doorstep_ffi::types::{Timestamp, Window};
use doorstep_ffi::{DeviceStore, LocalTimes};

fn at(h: u32, m: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, 30).unwrap()
}

#[test]
fn local_times_come_from_the_core_in_the_business_time_zone() {
    let dir = TempDir::new("ffi-zone");
    let store = DeviceStore::open(
        dir.0.join("phone.db").display().to_string(),
        "phone-9".into(),
        "T-9".into(),
        "王伟".into(),
    )
    .unwrap();
    assert_eq!(store.business_zone_name().unwrap(), "Asia/Shanghai");
    let times = store.local_times().unwrap();
    assert_eq!(times.zone_name(), "Asia/Shanghai");
    let t = times.date_time(at(2, 25));
    assert_eq!(
        (t.zh.as_str(), t.en.as_str()),
        ("12月1日 10:25", "2026-12-01 10:25")
    );
    assert_eq!(times.clock_time(at(2, 25)), "10:25");
    let morning = Window {
        start: at(2, 0),
        end: at(4, 0),
    };
    assert_eq!(times.window(morning.clone()).zh, "12月1日 10:00–12:00");
    assert_eq!(times.window(morning.clone()).en, "2026-12-01 10:00–12:00");
    assert_eq!(times.clock_window(morning).zh, "10:00–12:00");
    // 16:30 UTC is already 2 December in Beijing: the next business day.
    assert_eq!(times.date_time(at(16, 30)).en, "2026-12-02 00:30");
    assert!(store.business_day_visits(at(16, 30)).unwrap().is_empty());
}

#[test]
fn a_screen_before_enrolment_shows_times_in_the_default_business_zone() {
    let times = LocalTimes::in_default_zone();
    assert_eq!(times.zone_name(), "Asia/Shanghai");
    assert_eq!(times.clock_time(at(23, 5)), "07:05");
    assert_eq!(times.date_time(at(23, 5)).zh, "12月2日 07:05");
}
