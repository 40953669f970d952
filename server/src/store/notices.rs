//! The `notice_consents` table: whether the customer of a work order agreed
//! to notices, on which channel (sms / wechat), at which number or WeChat
//! openid and in which language — recorded at intake, changeable later.

use super::sql::{Row, Tx};
use crate::failure::Fallible;
use serde::{Deserialize, Serialize};

/// A work order's notice consent as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentRecord {
    pub assignment_id: String,
    pub consented: bool,
    /// `sms` or `wechat`.
    pub channel: String,
    /// The phone number (sms) or the WeChat openid (wechat).
    pub address: String,
    /// `zh-CN` or `en`.
    pub language: String,
    pub recorded_at: i64,
    pub recorded_by: String,
}

fn consent_from_row(r: &Row) -> ConsentRecord {
    ConsentRecord {
        assignment_id: r.text("assignment_id"),
        consented: r.flag("consented"),
        channel: r.text("channel"),
        address: r.text("address"),
        language: r.text("language"),
        recorded_at: r.int("recorded_at"),
        recorded_by: r.text("recorded_by"),
    }
}

/// Records (or replaces) a work order's consent.
pub async fn upsert_consent(tx: &mut dyn Tx, c: &ConsentRecord) -> Fallible<()> {
    tx.execute(
        "INSERT INTO notice_consents (assignment_id, consented, channel, address, language, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (assignment_id) DO UPDATE SET consented = $2, channel = $3, address = $4,
            language = $5, recorded_at = $6, recorded_by = $7",
        &[
            c.assignment_id.as_str().into(),
            c.consented.into(),
            c.channel.as_str().into(),
            c.address.as_str().into(),
            c.language.as_str().into(),
            c.recorded_at.into(),
            c.recorded_by.as_str().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A work order's consent, if one was recorded.
pub async fn consent_of(tx: &mut dyn Tx, assignment_id: &str) -> Fallible<Option<ConsentRecord>> {
    Ok(tx
        .query_opt(
            "SELECT assignment_id, consented, channel, address, language, recorded_at, recorded_by
             FROM notice_consents WHERE assignment_id = $1",
            &[assignment_id.into()],
        )
        .await?
        .map(|r| consent_from_row(&r)))
}

/// The technician's name and work phone, as a notice names them.
pub async fn technician_contact(
    tx: &mut dyn Tx,
    technician_id: &str,
) -> Fallible<Option<(String, Option<String>)>> {
    Ok(tx
        .query_opt(
            "SELECT name, phone FROM technicians WHERE id = $1",
            &[technician_id.into()],
        )
        .await?
        .map(|r| (r.text("name"), r.opt_text("phone"))))
}
