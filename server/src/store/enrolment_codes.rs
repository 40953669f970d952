//! The `enrolment_codes` table: one-time codes a phone exchanges for its
//! device token, stored as SHA-256 with their expiry and when they were used.

use super::sql::Tx;
use crate::failure::Fallible;

/// Stores a new code (its hash).
pub async fn insert_code(
    tx: &mut dyn Tx,
    code_hash: &str,
    technician: &str,
    device: &str,
    actor: &str,
    now: i64,
    expires_at: i64,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO enrolment_codes (code_hash, technician_id, device_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            code_hash.into(),
            technician.into(),
            device.into(),
            actor.into(),
            now.into(),
            expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Marks an unused, unexpired code used; its (technician, device), or
/// `None` when there is no such code or it was used or has expired.
pub async fn take_code(
    tx: &mut dyn Tx,
    code_hash: &str,
    now: i64,
) -> Fallible<Option<(String, String)>> {
    let Some(row) = tx
        .query_opt(
            "SELECT technician_id, device_id FROM enrolment_codes
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
            &[code_hash.into(), now.into()],
        )
        .await?
    else {
        return Ok(None);
    };
    let taken = tx
        .execute(
            "UPDATE enrolment_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL",
            &[code_hash.into(), now.into()],
        )
        .await?;
    Ok((taken == 1).then(|| (row.text("technician_id"), row.text("device_id"))))
}
