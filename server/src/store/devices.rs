//! The `devices` and `device_syncs` tables: enrolled phones, their tokens,
//! their upload position and evidence chain, and every sync they made.

use super::sql::Tx;
use crate::failure::{Failure, Fallible};
use crate::model::SyncKind;
use doorstep_core::discount_approval::SoftwareDiscountKey;

/// The technician a device is enrolled to, if it is enrolled at all.
pub async fn owner(tx: &mut dyn Tx, device: &str) -> Fallible<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT technician_id FROM devices WHERE id = $1",
            &[device.into()],
        )
        .await?
        .map(|r| r.text("technician_id")))
}

/// Enrols a new device.
pub async fn insert_device(
    tx: &mut dyn Tx,
    device: &str,
    technician: &str,
    token_hash: &str,
    actor: &str,
    now: i64,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO devices (id, technician_id, token_hash, enrolled_by, enrolled_at, token_issued_at) VALUES ($1, $2, $3, $4, $5, $5)",
        &[device.into(), technician.into(), token_hash.into(), actor.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Records the enrolment version of a device just enrolled (or re-keyed):
/// 2 with the public half of its device key, 1 without one.
pub async fn register_key(tx: &mut dyn Tx, device: &str, public_key: Option<&str>) -> Fallible<()> {
    let version: i64 = if public_key.is_some() { 2 } else { 1 };
    tx.execute(
        "UPDATE devices SET public_key = $1, enrolment_version = $2 WHERE id = $3",
        &[public_key.into(), version.into(), device.into()],
    )
    .await?;
    Ok(())
}

/// Issues a device just enrolled (or re-enrolled) a new discount secret,
/// replacing any earlier one, and returns it as hex: the phone keeps it in
/// its keystore and the center's offline discount short codes are the HMAC
/// under it (core `discount_approval`).
pub async fn issue_discount_secret(tx: &mut dyn Tx, device: &str) -> Fallible<String> {
    let mut secret = [0u8; doorstep_core::discount_approval::SECRET_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    let secret = hex::encode(secret);
    tx.execute(
        "UPDATE devices SET discount_secret = $1 WHERE id = $2",
        &[secret.as_str().into(), device.into()],
    )
    .await?;
    Ok(secret)
}

/// A device's discount key; `None` for a device enrolled before discount
/// secrets, or not enrolled at all.
pub async fn discount_key(tx: &mut dyn Tx, device: &str) -> Fallible<Option<SoftwareDiscountKey>> {
    tx.query_opt(
        "SELECT discount_secret FROM devices WHERE id = $1",
        &[device.into()],
    )
    .await?
    .and_then(|r| r.opt_text("discount_secret"))
    .map(|secret| stored_key(&secret))
    .transpose()
}

/// The devices of `technician` that can check an offline discount code:
/// enrolled, not revoked, with a discount secret; `(device, key)`.
pub async fn discount_keys_of(
    tx: &mut dyn Tx,
    technician: &str,
) -> Fallible<Vec<(String, SoftwareDiscountKey)>> {
    tx.query(
        "SELECT id, discount_secret FROM devices WHERE technician_id = $1 AND revoked_at IS NULL AND discount_secret IS NOT NULL ORDER BY id",
        &[technician.into()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.text("id"), stored_key(&r.text("discount_secret"))?)))
    .collect()
}

/// A discount secret as stored (hex, written by [`issue_discount_secret`]).
fn stored_key(secret: &str) -> Fallible<SoftwareDiscountKey> {
    SoftwareDiscountKey::from_hex(secret)
        .map_err(|_| Failure::internal("reading a device's discount secret"))
}

/// The public key a device registered at enrolment (version 2); `None`
/// for a device enrolled without one or not enrolled at all.
pub async fn public_key(tx: &mut dyn Tx, device: &str) -> Fallible<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT public_key FROM devices WHERE id = $1",
            &[device.into()],
        )
        .await?
        .and_then(|r| r.opt_text("public_key")))
}

/// Gives an enrolled device a new token (un-revoking it); its sync position
/// stays. Every earlier token, rotated ones in their grace period too, stops
/// working.
pub async fn rekey_device(
    tx: &mut dyn Tx,
    device: &str,
    token_hash: &str,
    actor: &str,
    now: i64,
) -> Fallible<()> {
    tx.execute(
        "UPDATE devices SET token_hash = $1, revoked_at = NULL, enrolled_by = $2, enrolled_at = $3, token_issued_at = $3 WHERE id = $4",
        &[token_hash.into(), actor.into(), now.into(), device.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM device_retired_tokens WHERE device_id = $1",
        &[device.into()],
    )
    .await?;
    Ok(())
}

/// Revokes an enrolled device; false when there was none to revoke.
pub async fn revoke_device(tx: &mut dyn Tx, device: &str, now: i64) -> Fallible<bool> {
    let changed = tx
        .execute(
            "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[now.into(), device.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// The device and technician of an unrevoked device token: the device's
/// current token, or one a rotation replaced that is still in its grace
/// period at `now`.
pub async fn device_of_token(
    tx: &mut dyn Tx,
    token_hash: &str,
    now: i64,
) -> Fallible<Option<(String, String)>> {
    if let Some(r) = tx
        .query_opt(
            "SELECT id, technician_id FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
            &[token_hash.into()],
        )
        .await?
    {
        return Ok(Some((r.text("id"), r.text("technician_id"))));
    }
    Ok(tx
        .query_opt(
            "SELECT d.id AS id, d.technician_id AS technician_id
             FROM device_retired_tokens r JOIN devices d ON d.id = r.device_id
             WHERE r.token_hash = $1 AND r.valid_until > $2 AND d.revoked_at IS NULL",
            &[token_hash.into(), now.into()],
        )
        .await?
        .map(|r| (r.text("id"), r.text("technician_id"))))
}

/// Where a device token stands for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAge {
    /// The device's current token, issued at this time (Unix ms).
    Current { device: String, issued_at: i64 },
    /// A token a rotation replaced, still in its grace period: the phone
    /// has not stored the newer one yet.
    Retired { device: String },
    /// Not a live device token.
    Unknown,
}

/// Whether `token_hash` is a device's current token (and since when) or a
/// retired one still in its grace period.
pub async fn token_age(tx: &mut dyn Tx, token_hash: &str, now: i64) -> Fallible<TokenAge> {
    if let Some(r) = tx
        .query_opt(
            "SELECT id, COALESCE(token_issued_at, enrolled_at) AS issued_at
             FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
            &[token_hash.into()],
        )
        .await?
    {
        return Ok(TokenAge::Current {
            device: r.text("id"),
            issued_at: r.int("issued_at"),
        });
    }
    Ok(tx
        .query_opt(
            "SELECT r.device_id AS device_id
             FROM device_retired_tokens r JOIN devices d ON d.id = r.device_id
             WHERE r.token_hash = $1 AND r.valid_until > $2 AND d.revoked_at IS NULL",
            &[token_hash.into(), now.into()],
        )
        .await?
        .map_or(TokenAge::Unknown, |r| TokenAge::Retired {
            device: r.text("device_id"),
        }))
}

/// Rotates a device's token: the current one is kept valid until
/// `valid_until` (the grace period) and `new_hash` becomes current, issued
/// `now`. Retired tokens whose grace has passed are forgotten.
pub async fn rotate_token(
    tx: &mut dyn Tx,
    device: &str,
    new_hash: &str,
    now: i64,
    valid_until: i64,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO device_retired_tokens (token_hash, device_id, valid_until)
         SELECT token_hash, id, $2 FROM devices WHERE id = $1",
        &[device.into(), valid_until.into()],
    )
    .await?;
    tx.execute(
        "UPDATE devices SET token_hash = $1, token_issued_at = $2 WHERE id = $3",
        &[new_hash.into(), now.into(), device.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM device_retired_tokens WHERE device_id = $1 AND valid_until <= $2",
        &[device.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Where a device's uploads stand.
pub struct UploadPosition {
    /// The last sequence number applied.
    pub last_seq: u64,
    /// The digest of the device's last sign-off evidence (the chain's head).
    pub last_evidence_digest: Option<String>,
}

pub async fn upload_position(tx: &mut dyn Tx, device: &str) -> Fallible<Option<UploadPosition>> {
    Ok(tx
        .query_opt(
            "SELECT last_seq, last_evidence_digest FROM devices WHERE id = $1",
            &[device.into()],
        )
        .await?
        .map(|r| UploadPosition {
            last_seq: r.int("last_seq").max(0) as u64,
            last_evidence_digest: r.opt_text("last_evidence_digest"),
        }))
}

/// Records a push: the new position, the time, the clock offset (kept when
/// unknown) and the chain's head.
pub async fn record_push(
    tx: &mut dyn Tx,
    device: &str,
    acked: u64,
    now: i64,
    offset: Option<i64>,
    chain: Option<String>,
) -> Fallible<()> {
    tx.execute(
        "UPDATE devices SET last_seq = $1, last_sync_at = $2, clock_offset_ms = COALESCE($3, clock_offset_ms),
            last_evidence_digest = $4 WHERE id = $5",
        &[acked.into(), now.into(), offset.into(), chain.into(), device.into()],
    )
    .await?;
    Ok(())
}

/// Records a pull: the time and the clock offset (kept when unknown).
pub async fn record_pull(
    tx: &mut dyn Tx,
    device: &str,
    now: i64,
    offset: Option<i64>,
) -> Fallible<()> {
    tx.execute(
        "UPDATE devices SET last_sync_at = $1, clock_offset_ms = COALESCE($2, clock_offset_ms) WHERE id = $3",
        &[now.into(), offset.into(), device.into()],
    )
    .await?;
    Ok(())
}

/// Records the download cursor a device acknowledged (it holds every
/// change up to it); it never moves back.
pub async fn record_download_cursor(tx: &mut dyn Tx, device: &str, cursor: u64) -> Fallible<()> {
    tx.execute(
        "UPDATE devices SET download_cursor = $1 WHERE id = $2 AND download_cursor < $1",
        &[cursor.into(), device.into()],
    )
    .await?;
    Ok(())
}

/// One sync as the server received it.
pub struct SyncRecord<'a> {
    pub device: &'a str,
    pub kind: SyncKind,
    pub received_at: i64,
    pub device_time: Option<i64>,
    pub clock_offset_ms: Option<i64>,
    pub events: u64,
}

/// Appends to the sync history.
pub async fn record_sync(tx: &mut dyn Tx, s: &SyncRecord<'_>) -> Fallible<()> {
    tx.execute(
        "INSERT INTO device_syncs (device_id, kind, received_at, device_time, clock_offset_ms, events)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            s.device.into(),
            s.kind.as_str().into(),
            s.received_at.into(),
            s.device_time.into(),
            s.clock_offset_ms.into(),
            s.events.into(),
        ],
    )
    .await?;
    Ok(())
}

/// An enrolled device as the admin screen lists it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeviceListing {
    pub device_id: String,
    pub technician_id: String,
    pub enrolled_by: String,
    pub enrolled_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 2 when the phone registered its device key (its sign-offs are
    /// verified), 1 when it enrolled without one ("unsigned").
    pub enrolment_version: i64,
}

/// Every device, by technician and id.
pub async fn list_devices(tx: &mut dyn Tx) -> Fallible<Vec<DeviceListing>> {
    use crate::time::from_ms;
    Ok(tx
        .query(
            "SELECT id, technician_id, enrolled_by, enrolled_at, revoked_at, last_sync_at, enrolment_version
             FROM devices ORDER BY technician_id, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| DeviceListing {
            device_id: r.text("id"),
            technician_id: r.text("technician_id"),
            enrolled_by: r.text("enrolled_by"),
            enrolled_at: from_ms(r.int("enrolled_at")),
            revoked_at: r.opt_int("revoked_at").map(from_ms),
            last_sync_at: r.opt_int("last_sync_at").map(from_ms),
            enrolment_version: r.int("enrolment_version"),
        })
        .collect())
}
