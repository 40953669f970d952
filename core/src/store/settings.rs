//! What the server tells every phone and the phone keeps (the `settings`
//! table, JSON by key): the business time zone every local date on the
//! phone is counted in. Until the first sync brings one, Asia/Shanghai.

use super::db::Durability;
use super::error::Result;
use super::{from_json, millis, to_json, Store};
use crate::business_time::BusinessZone;
use crate::workflow::WorkflowError;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension, Transaction};

const BUSINESS_ZONE: &str = "business_zone";
const ROTATED_DEVICE_TOKEN: &str = "rotated_device_token";

/// A device token the server issued in place of the enrolment token whose
/// SHA-256 is `enrolled_sha256` (or of a token issued in its place).
#[derive(serde::Serialize, serde::Deserialize)]
struct RotatedToken {
    enrolled_sha256: String,
    token: String,
}

/// The zone kept in the store, or the default when none was received yet.
pub(super) fn load_business_zone(tx: &Transaction<'_>) -> Result<BusinessZone> {
    let json: Option<String> = tx
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([BUSINESS_ZONE], |r| r.get(0))
        .optional()?;
    match json {
        Some(j) => from_json("business time zone", &j),
        None => Ok(BusinessZone::default()),
    }
}

impl Store {
    /// The business time zone this phone counts local dates in.
    pub fn business_zone(&self) -> Result<BusinessZone> {
        self.shared.db.read(load_business_zone)
    }

    /// Keeps the zone the server sent (after checking it). Every later
    /// command, list and printed time uses it.
    pub fn set_business_zone(&self, zone: &BusinessZone, now: DateTime<Utc>) -> Result<()> {
        zone.validate().map_err(|e| WorkflowError::InvalidInput {
            field: "business_time_zone".into(),
            problem: crate::messages::Text::new(
                e.to_string(),
                format!("服务器发送的业务时区无效（{e}）"),
            ),
        })?;
        let json = to_json("business time zone", zone)?;
        self.shared.db.write(Durability::Normal, |tx| {
            tx.prepare_cached(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )?
            .execute(params![BUSINESS_ZONE, json, millis(now)])?;
            Ok(())
        })
    }

    /// The device token the server last issued in place of `enrolled` (the
    /// enrolment token) or its successors; `None` when it never rotated, or
    /// when the stored one descends from another enrolment.
    pub fn rotated_device_token(&self, enrolled: &str) -> Result<Option<String>> {
        let json: Option<String> = self.shared.db.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
                .query_row([ROTATED_DEVICE_TOKEN], |r| r.get(0))
                .optional()?)
        })?;
        let Some(json) = json else { return Ok(None) };
        let kept: RotatedToken = from_json("rotated device token", &json)?;
        Ok(
            (kept.enrolled_sha256 == crate::canonical::sha256_hex(enrolled.as_bytes()))
                .then_some(kept.token),
        )
    }

    /// Keeps the device token the server issued in place of `enrolled`'s
    /// line, in one durable write (whole or not at all).
    pub fn keep_rotated_device_token(
        &self,
        enrolled: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let json = to_json(
            "rotated device token",
            &RotatedToken {
                enrolled_sha256: crate::canonical::sha256_hex(enrolled.as_bytes()),
                token: token.to_string(),
            },
        )?;
        self.shared.db.write(Durability::Full, |tx| {
            tx.prepare_cached(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )?
            .execute(params![ROTATED_DEVICE_TOKEN, json, millis(now)])?;
            Ok(())
        })
    }

    /// Today's date in the business time zone.
    pub fn business_today(&self, now: DateTime<Utc>) -> Result<NaiveDate> {
        Ok(self.business_zone()?.date_of(now))
    }

    /// The visits whose window starts on local `date` of the business time
    /// zone, sorted by window start.
    pub fn visits_on_business_day(&self, date: NaiveDate) -> Result<Vec<super::VisitSummary>> {
        let (from, to) = self.business_zone()?.day_bounds(date);
        self.visits_between(from, to)
    }
}
