//! Time at the edges (clock.rs): a fixed clock returns what it was set to
//! and moves forward; shifts and durations saturate at the ends of chrono's
//! range instead of panicking; the hybrid logical clock's stamps print
//! zero-padded, resume after the last one issued, increase within one
//! millisecond, and after observing a remote stamp follow whichever of the
//! local, remote and wall times is ahead.

use chrono::{DateTime, Duration, TimeDelta, TimeZone, Utc};
use doorstep_core::clock::{
    hours, minutes, seconds, shift, Clock, FixedClock, Hlc, HlcStamp, SystemClock,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn at_millis(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

fn stamp(millis: i64, counter: u32) -> HlcStamp {
    HlcStamp { millis, counter }
}

#[test]
fn the_system_clock_reads_the_wall_clock() {
    let before = Utc::now();
    let now = SystemClock.now();
    let after = Utc::now();
    assert!(
        before <= now && now <= after,
        "{before} <= {now} <= {after}"
    );
}

#[test]
fn a_fixed_clock_returns_what_it_was_set_to_and_advances_forward() {
    let clock = FixedClock::new(t0());
    assert_eq!(clock.now(), t0());
    let later = t0() + Duration::hours(2);
    clock.set(later);
    assert_eq!(clock.now(), later);
    clock.advance(Duration::seconds(90));
    assert_eq!(clock.now(), later + Duration::seconds(90));
}

#[test]
fn a_shift_adds_the_duration_and_saturates_at_the_ends_of_time() {
    assert_eq!(shift(t0(), minutes(5)), t0() + Duration::minutes(5));
    assert_eq!(shift(t0(), minutes(-5)), t0() - Duration::minutes(5));
    assert_eq!(shift(t0(), TimeDelta::MAX), DateTime::<Utc>::MAX_UTC);
    assert_eq!(shift(t0(), TimeDelta::MIN), DateTime::<Utc>::MIN_UTC);
    assert_eq!(
        shift(DateTime::<Utc>::MIN_UTC + Duration::days(1), hours(-48)),
        DateTime::<Utc>::MIN_UTC
    );
}

#[test]
fn durations_are_exact_in_range_and_saturate_beyond_it() {
    assert_eq!(minutes(90), Duration::minutes(90));
    assert_eq!(minutes(-90), Duration::minutes(-90));
    assert_eq!(minutes(i64::MAX), TimeDelta::MAX);
    assert_eq!(minutes(i64::MIN), TimeDelta::MIN);
    assert_eq!(seconds(90), Duration::seconds(90));
    assert_eq!(seconds(-90), Duration::seconds(-90));
    assert_eq!(seconds(i64::MAX), TimeDelta::MAX);
    assert_eq!(seconds(i64::MIN), TimeDelta::MIN);
    assert_eq!(hours(48), Duration::hours(48));
    assert_eq!(hours(-48), Duration::hours(-48));
    assert_eq!(hours(i64::MAX), TimeDelta::MAX);
    assert_eq!(hours(i64::MIN), TimeDelta::MIN);
}

#[test]
fn an_hlc_stamp_prints_as_zero_padded_millis_and_counter() {
    assert_eq!(stamp(42, 7).to_string(), "0000000000042-00007");
}

#[test]
fn an_hlc_resumes_after_the_last_stamp_it_issued() {
    let last = stamp(t0().timestamp_millis(), 3);
    let mut hlc = Hlc::resume(last);
    assert_eq!(hlc.last(), last);
    let earlier_wall_clock = t0() - Duration::hours(1);
    assert_eq!(hlc.tick(earlier_wall_clock), stamp(last.millis, 4));
    assert_eq!(hlc.last(), stamp(last.millis, 4));
}

#[test]
fn two_events_in_the_same_millisecond_get_increasing_counters() {
    let mut hlc = Hlc::default();
    let ms = t0().timestamp_millis();
    assert_eq!(hlc.tick(t0()), stamp(ms, 0));
    assert_eq!(hlc.tick(t0()), stamp(ms, 1));
    assert_eq!(hlc.tick(at_millis(ms + 1)), stamp(ms + 1, 0));
}

#[test]
fn observing_a_remote_stamp_follows_whichever_time_is_ahead() {
    // Local stamp ahead of the remote one and of the wall clock.
    let mut hlc = Hlc::resume(stamp(1_000, 5));
    assert_eq!(hlc.observe(stamp(900, 9), at_millis(800)), stamp(1_000, 6));
    // Remote stamp ahead.
    let mut hlc = Hlc::resume(stamp(1_000, 5));
    assert_eq!(
        hlc.observe(stamp(2_000, 3), at_millis(1_500)),
        stamp(2_000, 4)
    );
    // Local and remote at the same millisecond: after both counters.
    let mut hlc = Hlc::resume(stamp(1_000, 5));
    assert_eq!(
        hlc.observe(stamp(1_000, 9), at_millis(900)),
        stamp(1_000, 10)
    );
    let mut hlc = Hlc::resume(stamp(1_000, 9));
    assert_eq!(
        hlc.observe(stamp(1_000, 5), at_millis(900)),
        stamp(1_000, 10)
    );
    // The wall clock ahead of both: a fresh millisecond, counter 0.
    let mut hlc = Hlc::resume(stamp(1_000, 5));
    assert_eq!(
        hlc.observe(stamp(2_000, 3), at_millis(3_000)),
        stamp(3_000, 0)
    );
    assert_eq!(hlc.last(), stamp(3_000, 0));
}
