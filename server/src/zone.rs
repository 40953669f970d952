//! The business time zone on the server: the `--business-time-zone` setting
//! (an IANA name, Asia/Shanghai by default) turned, with the tz database
//! the server carries (chrono-tz), into the core's [`BusinessZone`] — the
//! name and its UTC-offset transitions — which every local date of the
//! server (reconciliation and KPI days, the monthly sample's month, the
//! roster's today, `dispatch_by`) uses, and whose coming years go to the
//! phones with every pull.

use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use doorstep_core::business_time::{BusinessZone, ZoneTransition, DEFAULT_ZONE_NAME};

/// The span of the server's own zone table: every date it may meet.
const TABLE_FROM_YEAR: i32 = 1970;
const TABLE_TO_YEAR: i32 = 2100;

/// How many years ahead the phones get (and one year back).
const PHONE_YEARS_AHEAD: i64 = 5;

/// A `--business-time-zone` value, refused with what would be accepted
/// (en, zh-CN).
pub fn parse_business_time_zone(text: &str) -> Result<String, String> {
    let name = text.trim();
    name.parse::<Tz>().map(|tz| tz.name().to_string()).map_err(|_| {
        format!(
            "expected an IANA time zone name such as {DEFAULT_ZONE_NAME} or Europe/Berlin / 应为 IANA 时区名称，例如 {DEFAULT_ZONE_NAME}"
        )
    })
}

/// The zone named `name` with every offset change from 1970 to 2100.
pub fn business_zone(name: &str) -> Result<BusinessZone, String> {
    let tz: Tz = name
        .trim()
        .parse()
        .map_err(|_| parse_business_time_zone(name).unwrap_err())?;
    let start = year_start(TABLE_FROM_YEAR);
    let end = year_start(TABLE_TO_YEAR);
    let offset_at = |t: DateTime<Utc>| {
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let mut zone = BusinessZone {
        name: tz.name().to_string(),
        offset_seconds: offset_at(start),
        transitions: vec![],
    };
    let mut current = zone.offset_seconds;
    let mut day = start;
    // Offsets change at most a few times a year and never twice in 12 h:
    // step half-days, then find the exact second by bisection.
    let step = Duration::hours(12);
    while day < end {
        let next = day + step;
        let offset = offset_at(next);
        if offset != current {
            let (mut lo, mut hi) = (day, next);
            // Whole seconds: offsets change on a second.
            while (hi - lo).num_seconds() > 1 {
                let mid = lo + Duration::seconds((hi - lo).num_seconds() / 2);
                if offset_at(mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            zone.transitions.push(ZoneTransition {
                at: hi,
                offset_seconds: offset,
            });
            current = offset;
        }
        day = next;
    }
    Ok(zone)
}

/// What the phones get: the zone from a year before `now` to five years
/// after (a handful of transitions at most).
pub fn for_phones(zone: &BusinessZone, now: DateTime<Utc>) -> BusinessZone {
    zone.between(
        now - Duration::days(366),
        now + Duration::days(366 * PHONE_YEARS_AHEAD),
    )
}

fn year_start(year: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn shanghai_has_no_offset_change_after_1991() {
        let z = business_zone("Asia/Shanghai").unwrap();
        assert!(z.transitions.iter().all(|t| t.at.year_ce().1 < 1992));
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(for_phones(&z, now), BusinessZone::shanghai());
    }

    #[test]
    fn berlin_changes_at_the_exact_second() {
        let z = business_zone("Europe/Berlin").unwrap();
        let change = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        assert!(z
            .transitions
            .iter()
            .any(|t| t.at == change && t.offset_seconds == 7200));
        assert_eq!(
            z.date_of(Utc.with_ymd_and_hms(2026, 7, 1, 22, 30, 0).unwrap()),
            NaiveDate::from_ymd_opt(2026, 7, 2).unwrap()
        );
        z.validate().unwrap();
    }

    #[test]
    fn an_unknown_zone_name_is_refused_in_both_languages() {
        let e = parse_business_time_zone("Mars/Olympus").unwrap_err();
        assert!(e.contains("IANA") && e.contains("时区"), "{e}");
    }

    use chrono::Datelike;
}
