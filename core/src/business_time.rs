//! The business time zone: the one zone every local date and time of the
//! company is counted in (the free-adjustment month, return and receipt
//! dates, reconciliation and KPI days, the monthly sample's month, what the
//! phone and the CLI print).
//!
//! The phone library carries no time-zone database: a [`BusinessZone`] is an
//! IANA name plus its UTC offsets as a compact list of transitions, which
//! the server computes (from its tz database) and sends with every pull.
//! Asia/Shanghai, the default, is built in (UTC+8, no daylight saving since
//! 1991). Local dates, day bounds, months and readable times in zh-CN and
//! en are all derived here, so no caller reads the host's or the device's
//! own zone.

use crate::messages::Lang;
use chrono::{
    DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, NaiveDateTime, TimeDelta, Timelike,
    Utc,
};
use serde::{Deserialize, Serialize};

/// The default business zone's name.
pub const DEFAULT_ZONE_NAME: &str = "Asia/Shanghai";

/// The largest UTC offset a zone may have, in seconds (±18 h, as chrono).
const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

/// The most transitions a zone may carry (a few decades of DST changes).
pub const MAX_TRANSITIONS: usize = 400;

/// From `at` on, the zone's UTC offset is `offset_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneTransition {
    pub at: DateTime<Utc>,
    /// Seconds east of UTC.
    pub offset_seconds: i32,
}

/// One business time zone: its name and its UTC offsets over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessZone {
    /// The IANA name (e.g. `Asia/Shanghai`), for people and for the server.
    pub name: String,
    /// Seconds east of UTC before the first transition (or always, if none).
    pub offset_seconds: i32,
    /// Offset changes, strictly increasing in time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<ZoneTransition>,
}

impl Default for BusinessZone {
    fn default() -> Self {
        Self::shanghai()
    }
}

/// Why a zone sent by the server cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("business_time_zone.name must not be blank; send an IANA name such as Asia/Shanghai")]
    BlankName,
    #[error("business_time_zone offset {0} s is outside ±18 hours")]
    OffsetOutOfRange(i32),
    #[error("business_time_zone.transitions must be strictly increasing in time (entry {0})")]
    TransitionsOutOfOrder(usize),
    #[error("business_time_zone has {0} transitions; at most {MAX_TRANSITIONS} are accepted")]
    TooManyTransitions(usize),
}

impl BusinessZone {
    /// Asia/Shanghai: UTC+8 all year.
    pub fn shanghai() -> Self {
        Self::fixed(DEFAULT_ZONE_NAME, 8 * 3600)
    }

    /// A zone with one offset all the time.
    pub fn fixed(name: &str, offset_seconds: i32) -> Self {
        Self {
            name: name.to_string(),
            offset_seconds,
            transitions: vec![],
        }
    }

    /// Checks what the server sent before the phone keeps it.
    pub fn validate(&self) -> Result<(), ZoneError> {
        if self.name.trim().is_empty() {
            return Err(ZoneError::BlankName);
        }
        if self.transitions.len() > MAX_TRANSITIONS {
            return Err(ZoneError::TooManyTransitions(self.transitions.len()));
        }
        let offsets = std::iter::once(self.offset_seconds)
            .chain(self.transitions.iter().map(|t| t.offset_seconds));
        for o in offsets {
            if o.abs() > MAX_OFFSET_SECONDS {
                return Err(ZoneError::OffsetOutOfRange(o));
            }
        }
        for (i, pair) in self.transitions.windows(2).enumerate() {
            if pair[1].at <= pair[0].at {
                return Err(ZoneError::TransitionsOutOfOrder(i + 1));
            }
        }
        Ok(())
    }

    /// The same zone restricted to `[from, to]`: the offset in force at
    /// `from` and the changes up to `to` (what a phone needs for the years
    /// ahead).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> BusinessZone {
        BusinessZone {
            name: self.name.clone(),
            offset_seconds: self.offset_at(from).local_minus_utc(),
            transitions: self
                .transitions
                .iter()
                .filter(|t| t.at > from && t.at <= to)
                .copied()
                .collect(),
        }
    }

    /// The zone's UTC offset at instant `at`.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        let seconds = match self.transitions.partition_point(|t| t.at <= at) {
            0 => self.offset_seconds,
            i => self.transitions[i - 1].offset_seconds,
        };
        fixed_offset(seconds)
    }

    /// `at` as local time in the zone.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.offset_at(at))
    }

    /// The local calendar date of instant `at`.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        self.local(at).date_naive()
    }

    /// The local month of `at`, as `YYYY-MM` (the monthly sample's month).
    pub fn month_of(&self, at: DateTime<Utc>) -> String {
        let t = self.local(at);
        format!("{:04}-{:02}", t.year(), t.month())
    }

    /// The instant local wall time `local` happens (the earlier one when the
    /// clock is set back; the moment after the gap when it jumps forward).
    pub fn instant_of(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let guess = |offset: FixedOffset| {
            local
                .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))
                .unwrap_or(local)
                .and_utc()
        };
        // Try every offset in force near that wall time; keep the earliest
        // instant that reads back as the asked wall time.
        let first = guess(self.offset_at(guess(fixed_offset(self.offset_seconds))));
        let candidates = [
            first,
            guess(self.offset_at(first - TimeDelta::days(1))),
            guess(self.offset_at(first + TimeDelta::days(1))),
        ];
        candidates
            .into_iter()
            .filter(|c| self.local(*c).naive_local() == local)
            .min()
            // In a forward gap no instant reads back: the gap's end.
            .unwrap_or_else(|| {
                self.transitions
                    .iter()
                    .map(|t| t.at)
                    .find(|t| {
                        *t >= first - TimeDelta::days(1) && self.local(*t).naive_local() > local
                    })
                    .unwrap_or(first)
            })
    }

    /// The first instant of local `date` (its midnight).
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.instant_of(date.and_time(chrono::NaiveTime::MIN))
    }

    /// The instants `[from, to)` of local `date`.
    pub fn day_bounds(&self, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let next = date.succ_opt().unwrap_or(date);
        (self.start_of_day(date), self.start_of_day(next))
    }

    /// `at` as people read it in `lang`: `12月1日 10:25` or `2026-12-01 10:25`.
    pub fn format_date_time(&self, at: DateTime<Utc>, lang: Lang) -> String {
        let t = self.local(at);
        match lang {
            Lang::ZhCn => format!("{}月{}日 {}", t.month(), t.day(), clock_time(&t)),
            Lang::En => format!("{} {}", iso_date(t.date_naive()), clock_time(&t)),
        }
    }

    /// A window as people read it: `12月1日 10:00–12:00` or
    /// `2026-12-01 10:00–12:00` (both ends dated when it spans midnight).
    pub fn format_window(&self, start: DateTime<Utc>, end: DateTime<Utc>, lang: Lang) -> String {
        if self.date_of(start) == self.date_of(end) {
            format!(
                "{}–{}",
                self.format_date_time(start, lang),
                self.format_time(end)
            )
        } else {
            format!(
                "{}–{}",
                self.format_date_time(start, lang),
                self.format_date_time(end, lang)
            )
        }
    }

    /// Every RFC 3339 time inside `value` (a JSON document about to be
    /// shown) rewritten as local time read in `lang`; everything else kept.
    pub fn localize_json(&self, value: &mut serde_json::Value, lang: Lang) {
        match value {
            serde_json::Value::String(s) => {
                if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    *s = self.format_date_time(t.with_timezone(&Utc), lang);
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    self.localize_json(v, lang);
                }
            }
            serde_json::Value::Object(map) => {
                for v in map.values_mut() {
                    self.localize_json(v, lang);
                }
            }
            _ => {}
        }
    }

    /// Every time inside `value` (a JSON answer about to be shown to a
    /// person, e.g. by the console) read in `lang` beside the time itself,
    /// which stays for machines: each time field `k` of an object (an RFC
    /// 3339 text, or Unix milliseconds in a field named `…_at`, the API's
    /// two encodings) gains `k_text` (`12月1日 10:25`), and a window, an
    /// object whose `start` and
    /// `end` are both times, gains `text` (`12月1日 10:00–12:00`) and
    /// `clock_text` (`10:00–12:00`, for a list of one day). A name already
    /// taken is left as it is.
    pub fn annotate_times(&self, value: &mut serde_json::Value, lang: Lang) {
        match value {
            serde_json::Value::Array(items) => {
                for v in items {
                    self.annotate_times(v, lang);
                }
            }
            serde_json::Value::Object(map) => {
                let mut texts = Vec::new();
                for (key, v) in map.iter_mut() {
                    let at = match v {
                        serde_json::Value::String(text) => rfc3339(text),
                        serde_json::Value::Number(n) if key.ends_with("_at") => {
                            n.as_i64().and_then(DateTime::from_timestamp_millis)
                        }
                        _ => None,
                    };
                    match at {
                        Some(at) => {
                            texts.push((format!("{key}_text"), self.format_date_time(at, lang)))
                        }
                        None => self.annotate_times(v, lang),
                    }
                }
                let bound = |k: &str| map.get(k).and_then(|v| v.as_str()).and_then(rfc3339);
                if let (Some(start), Some(end)) = (bound("start"), bound("end")) {
                    texts.push(("text".into(), self.format_window(start, end, lang)));
                    texts.push((
                        "clock_text".into(),
                        self.format_clock_window(start, end, lang),
                    ));
                }
                for (key, text) in texts {
                    map.entry(key).or_insert(serde_json::Value::String(text));
                }
            }
            _ => {}
        }
    }

    /// `at`'s local clock time, `10:25`.
    pub fn format_time(&self, at: DateTime<Utc>) -> String {
        clock_time(&self.local(at))
    }

    /// A window's clock times only, `10:00–12:00`, for a list of one day's
    /// visits (the day is the list's heading); a window ending on a later
    /// local day names that day's date: `22:00–12月2日 02:00`.
    pub fn format_clock_window(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        lang: Lang,
    ) -> String {
        if self.date_of(start) == self.date_of(end) {
            format!("{}–{}", self.format_time(start), self.format_time(end))
        } else {
            format!(
                "{}–{}",
                self.format_time(start),
                self.format_date_time(end, lang)
            )
        }
    }
}

/// `text` as an instant, when it is an RFC 3339 time.
fn rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A local date as people read it in `lang`: `2026年12月1日` or `2026-12-01`.
pub fn format_date(date: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
        Lang::En => iso_date(date),
    }
}

/// `2026-12-01` (written out: chrono's strftime machinery would cost the
/// phone library tens of kilobytes).
fn iso_date(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// `10:25`.
fn clock_time(t: &DateTime<FixedOffset>) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// STANDARDS §2.12: "within one month of installation" — the last local
/// date still inside the month: the day before the same day of the next
/// calendar month, or the month's last day when it has no such day
/// (installed 15 Oct → 14 Nov; installed 31 Oct → 30 Nov).
pub fn last_day_within_a_month(installed: NaiveDate) -> NaiveDate {
    let Some(same_day_next_month) = installed.checked_add_months(Months::new(1)) else {
        return NaiveDate::MAX;
    };
    if same_day_next_month.day() == installed.day() {
        same_day_next_month
            .checked_sub_days(Days::new(1))
            .unwrap_or(same_day_next_month)
    } else {
        // The next month is shorter: chrono clamped to its last day, which
        // is still before "the same day", so it counts.
        same_day_next_month
    }
}

fn fixed_offset(seconds: i32) -> FixedOffset {
    FixedOffset::east_opt(seconds.clamp(-MAX_OFFSET_SECONDS + 1, MAX_OFFSET_SECONDS - 1))
        .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Europe/Berlin-like: CEST from 29 Mar 2026 01:00 UTC, CET from 25 Oct 01:00 UTC.
    fn berlin_2026() -> BusinessZone {
        BusinessZone {
            name: "Europe/Berlin".into(),
            offset_seconds: 3600,
            transitions: vec![
                ZoneTransition {
                    at: Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap(),
                    offset_seconds: 7200,
                },
                ZoneTransition {
                    at: Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap(),
                    offset_seconds: 3600,
                },
            ],
        }
    }

    #[test]
    fn the_shanghai_date_turns_at_16_00_utc() {
        let z = BusinessZone::shanghai();
        let before = Utc.with_ymd_and_hms(2026, 11, 30, 15, 59, 59).unwrap();
        assert_eq!(z.date_of(before), d(2026, 11, 30));
        assert_eq!(z.date_of(before + TimeDelta::seconds(1)), d(2026, 12, 1));
        assert_eq!(z.month_of(before + TimeDelta::seconds(1)), "2026-12");
    }

    #[test]
    fn a_day_with_a_clock_change_is_23_or_25_hours_long() {
        let z = berlin_2026();
        let (from, to) = z.day_bounds(d(2026, 3, 29));
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap());
        assert_eq!((to - from).num_hours(), 23);
        let (from, to) = z.day_bounds(d(2026, 10, 25));
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 10, 24, 22, 0, 0).unwrap());
        assert_eq!((to - from).num_hours(), 25);
    }

    #[test]
    fn within_one_month_ends_before_the_same_day_of_the_next_month() {
        assert_eq!(last_day_within_a_month(d(2026, 10, 15)), d(2026, 11, 14));
        assert_eq!(last_day_within_a_month(d(2026, 10, 31)), d(2026, 11, 30));
        assert_eq!(last_day_within_a_month(d(2027, 1, 31)), d(2027, 2, 28));
        assert_eq!(last_day_within_a_month(d(2026, 12, 1)), d(2026, 12, 31));
    }

    #[test]
    fn readable_times_are_local_in_both_languages() {
        let z = BusinessZone::shanghai();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 2, 25, 30).unwrap();
        assert_eq!(z.format_date_time(at, Lang::ZhCn), "12月1日 10:25");
        assert_eq!(z.format_date_time(at, Lang::En), "2026-12-01 10:25");
        assert_eq!(format_date(d(2026, 12, 1), Lang::ZhCn), "2026年12月1日");
        let end = at + TimeDelta::hours(2);
        assert_eq!(z.format_window(at, end, Lang::ZhCn), "12月1日 10:25–12:25");
        assert_eq!(z.format_clock_window(at, end, Lang::ZhCn), "10:25–12:25");
        let overnight = at + TimeDelta::hours(15);
        assert_eq!(
            z.format_clock_window(at, overnight, Lang::ZhCn),
            "10:25–12月2日 01:25"
        );
        assert_eq!(
            z.format_clock_window(at, overnight, Lang::En),
            "10:25–2026-12-02 01:25"
        );
        let mut doc = serde_json::json!({"at": "2026-12-01T02:25:30.037255614Z", "n": 1, "s": "x"});
        z.localize_json(&mut doc, Lang::En);
        assert_eq!(
            doc,
            serde_json::json!({"at": "2026-12-01 10:25", "n": 1, "s": "x"})
        );
    }

    #[test]
    fn times_in_an_answer_gain_their_reading_beside_them() {
        let z = BusinessZone::shanghai();
        let mut doc = serde_json::json!([{
            "id": "A-1",
            "received_at": "2026-12-01T02:25:30.037Z",
            "note": "2026-12-01",
            "window": {"start": "2026-12-01T02:00:00Z", "end": "2026-12-01T04:00:00Z"},
            "late": {"at": "2026-12-01T15:59:00Z", "at_text": "kept"},
            "visits": [{"closed_at": "2026-12-01T17:00:00+01:00"}],
            "paid_at": 1796092200000_i64,
            "count": 1796092200000_i64,
            "expires_at": null
        }]);
        z.annotate_times(&mut doc, Lang::ZhCn);
        assert_eq!(
            doc,
            serde_json::json!([{
                "id": "A-1",
                "received_at": "2026-12-01T02:25:30.037Z",
                "received_at_text": "12月1日 10:25",
                "note": "2026-12-01",
                "window": {
                    "start": "2026-12-01T02:00:00Z", "end": "2026-12-01T04:00:00Z",
                    "start_text": "12月1日 10:00", "end_text": "12月1日 12:00",
                    "text": "12月1日 10:00–12:00", "clock_text": "10:00–12:00"
                },
                "late": {"at": "2026-12-01T15:59:00Z", "at_text": "kept"},
                "visits": [{"closed_at": "2026-12-01T17:00:00+01:00", "closed_at_text": "12月2日 00:00"}],
                "paid_at": 1796092200000_i64,
                "paid_at_text": "12月1日 10:30",
                "count": 1796092200000_i64,
                "expires_at": null
            }])
        );
        let mut en = serde_json::json!({"window": {"start": "2026-12-01T14:00:00Z", "end": "2026-12-01T17:00:00Z"}});
        z.annotate_times(&mut en, Lang::En);
        assert_eq!(en["window"]["text"], "2026-12-01 22:00–2026-12-02 01:00");
        assert_eq!(en["window"]["clock_text"], "22:00–2026-12-02 01:00");
        let mut half = serde_json::json!({"start": "2026-12-01T14:00:00Z", "end": "soon"});
        z.annotate_times(&mut half, Lang::En);
        assert_eq!(half.get("text"), None);
        assert_eq!(half["start_text"], "2026-12-01 22:00");
    }

    #[test]
    fn a_zone_with_transitions_out_of_order_is_refused() {
        let mut z = berlin_2026();
        z.transitions.reverse();
        assert_eq!(z.validate(), Err(ZoneError::TransitionsOutOfOrder(1)));
        assert_eq!(
            BusinessZone::fixed("X", 19 * 3600).validate(),
            Err(ZoneError::OffsetOutOfRange(19 * 3600))
        );
        assert_eq!(
            BusinessZone::fixed(" ", 0).validate(),
            Err(ZoneError::BlankName)
        );
    }
}
