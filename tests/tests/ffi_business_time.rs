//! The phone library formats local times for the shells: the business
//! time zone's (kept in the store, Asia/Shanghai until the first sync),
//! never the phone's own, in both languages.

use chrono::{TimeZone, Utc};
use doorstep_e2e::TempDir;
use doorstep_ffi::types::{Timestamp, Window};
use doorstep_ffi::DeviceStore;

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
    let t = store.format_local_date_time(at(2, 25)).unwrap();
    assert_eq!(
        (t.zh.as_str(), t.en.as_str()),
        ("12月1日 10:25", "2026-12-01 10:25")
    );
    let w = store
        .format_local_window(Window {
            start: at(2, 0),
            end: at(4, 0),
        })
        .unwrap();
    assert_eq!(w.zh, "12月1日 10:00–12:00");
    // 16:30 UTC is already 2 December in Beijing: the next business day.
    let t = store.format_local_date_time(at(16, 30)).unwrap();
    assert_eq!(t.en, "2026-12-02 00:30");
    assert!(store.business_day_visits(at(16, 30)).unwrap().is_empty());
}
