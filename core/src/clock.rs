//! Time at the edges: the `Clock` the rules are given (never read inside a
//! rule), and the hybrid logical clock (HLC) that orders one device's events
//! even when its wall clock jumps.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Where "now" comes from. Rules take `now` as an argument; only the edges
/// (store, CLI, shells) hold a clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that returns what it was last set to: for tests and scripted runs.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `t + d`, saturating at the ends of chrono's range. The rules use it for
/// every shift of a caller's time (windows, device clocks, playbook delays),
/// so odd inputs give odd times, never a panic.
pub fn shift(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < TimeDelta::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `minutes` as a duration, saturating (playbook values are unbounded above).
pub fn minutes(minutes: i64) -> TimeDelta {
    TimeDelta::try_minutes(minutes).unwrap_or(if minutes < 0 {
        TimeDelta::MIN
    } else {
        TimeDelta::MAX
    })
}

/// `seconds` as a duration, saturating.
pub fn seconds(seconds: i64) -> TimeDelta {
    TimeDelta::try_seconds(seconds).unwrap_or(if seconds < 0 {
        TimeDelta::MIN
    } else {
        TimeDelta::MAX
    })
}

/// `hours` as a duration, saturating.
pub fn hours(hours: i64) -> TimeDelta {
    TimeDelta::try_hours(hours).unwrap_or(if hours < 0 {
        TimeDelta::MIN
    } else {
        TimeDelta::MAX
    })
}

/// A hybrid logical clock stamp: milliseconds of physical time plus a logical
/// counter. Stamps from one device are strictly increasing whatever its wall
/// clock does, so they order that device's timeline.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct HlcStamp {
    pub millis: i64,
    pub counter: u32,
}

impl std::fmt::Display for HlcStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:013}-{:05}", self.millis, self.counter)
    }
}

/// The HLC state of one device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hlc {
    last: HlcStamp,
}

impl Hlc {
    /// Resumes from the last stamp the device issued (kept in its store).
    pub fn resume(last: HlcStamp) -> Self {
        Self { last }
    }

    pub fn last(&self) -> HlcStamp {
        self.last
    }

    /// A new stamp for a local event at wall time `now`.
    pub fn tick(&mut self, now: DateTime<Utc>) -> HlcStamp {
        let physical = now.timestamp_millis();
        self.last = if physical > self.last.millis {
            HlcStamp {
                millis: physical,
                counter: 0,
            }
        } else {
            HlcStamp {
                millis: self.last.millis,
                counter: self.last.counter.saturating_add(1),
            }
        };
        self.last
    }

    /// Merges a stamp seen from elsewhere (the server), so later local stamps
    /// are ordered after it.
    pub fn observe(&mut self, remote: HlcStamp, now: DateTime<Utc>) -> HlcStamp {
        let physical = now.timestamp_millis();
        let max_millis = physical.max(self.last.millis).max(remote.millis);
        let counter = if max_millis == self.last.millis && max_millis == remote.millis {
            self.last.counter.max(remote.counter).saturating_add(1)
        } else if max_millis == self.last.millis {
            self.last.counter.saturating_add(1)
        } else if max_millis == remote.millis {
            remote.counter.saturating_add(1)
        } else {
            0
        };
        self.last = HlcStamp {
            millis: max_millis,
            counter,
        };
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hlc_stays_monotonic_when_the_wall_clock_jumps_back_three_hours() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let mut hlc = Hlc::default();
        let a = hlc.tick(t0);
        let b = hlc.tick(t0 - chrono::Duration::hours(3));
        let c = hlc.tick(t0 - chrono::Duration::hours(3));
        assert!(a < b && b < c);
        let d = hlc.tick(t0 + chrono::Duration::seconds(1));
        assert!(c < d);
        assert_eq!(d.counter, 0);
    }

    #[test]
    fn hlc_observe_orders_after_remote_stamp() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let mut hlc = Hlc::default();
        let remote = HlcStamp {
            millis: t0.timestamp_millis() + 60_000,
            counter: 4,
        };
        let seen = hlc.observe(remote, t0);
        assert!(seen > remote);
        assert!(hlc.tick(t0) > seen);
    }
}
