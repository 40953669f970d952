//! The store's side of sync: applying a push acknowledgement (refusals, the
//! acked sequence, the server's clock) in one transaction, and the sync
//! status the shells show (pending count, last success, last error in words,
//! clock offset).

use super::db::Durability;
use super::error::Result;
use super::{millis, Store};
use crate::clock::{Hlc, HlcStamp};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};

/// One event the server refused for good, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub seq: i64,
    pub reason: String,
}

/// What the shells show about sync.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncStatus {
    /// Events waiting for the server.
    pub pending: u64,
    /// Events the server refused for good (kept, with reasons).
    pub refused: u64,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Stable code of the last failure (cleared by a success).
    pub last_error_code: Option<String>,
    /// The last failure in words.
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// Server clock minus device clock at the last sync, in milliseconds.
    pub clock_offset_ms: Option<i64>,
}

fn from_millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|m| Utc.timestamp_millis_opt(m).single())
}

impl Store {
    /// Applies the server's answer to a push in one transaction: refused
    /// events leave the queue with their reason, everything up to `acked_seq`
    /// is acknowledged, and the device's HLC observes the server's clock so
    /// later local stamps order after it. Returns how many entries were acked.
    pub fn apply_push_ack(
        &self,
        acked_seq: i64,
        refusals: &[Refusal],
        server_time: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.shared.db.write(Durability::Normal, |tx| {
            for r in refusals {
                tx.prepare_cached(
                    "UPDATE outbox SET status = 'refused', refused_reason = ?2, refused_at = ?3
                     WHERE seq = ?1 AND status = 'pending'",
                )?
                .execute(params![r.seq, r.reason, millis(now)])?;
            }
            let acked = tx
                .prepare_cached(
                    "UPDATE outbox SET status = 'acked', acked_at = ?2
                     WHERE seq <= ?1 AND status = 'pending'",
                )?
                .execute(params![acked_seq, millis(now)])?;
            let (m, c): (i64, i64) = tx
                .prepare_cached("SELECT hlc_millis, hlc_counter FROM device WHERE id = 1")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let mut hlc = Hlc::resume(HlcStamp {
                millis: m,
                counter: c as u32,
            });
            hlc.observe(
                HlcStamp {
                    millis: server_time.timestamp_millis(),
                    counter: 0,
                },
                now,
            );
            let last = hlc.last();
            tx.prepare_cached("UPDATE device SET hlc_millis = ?1, hlc_counter = ?2 WHERE id = 1")?
                .execute(params![last.millis, last.counter])?;
            Ok(acked)
        })
    }

    /// Records a successful sync and the clock offset it measured.
    pub fn record_sync_success(
        &self,
        now: DateTime<Utc>,
        clock_offset_ms: i64,
        server_time: DateTime<Utc>,
    ) -> Result<()> {
        self.shared.db.write(Durability::Normal, |tx| {
            tx.prepare_cached(
                "INSERT INTO sync_status (id, last_attempt_at, last_success_at, last_error_code, last_error,
                                          consecutive_failures, clock_offset_ms, server_time)
                 VALUES (1, ?1, ?1, NULL, NULL, 0, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET last_attempt_at = ?1, last_success_at = ?1,
                     last_error_code = NULL, last_error = NULL, consecutive_failures = 0,
                     clock_offset_ms = ?2, server_time = ?3",
            )?
            .execute(params![millis(now), clock_offset_ms, millis(server_time)])?;
            Ok(())
        })
    }

    /// Records a failed sync in words the shell can show.
    pub fn record_sync_failure(&self, now: DateTime<Utc>, code: &str, error: &str) -> Result<()> {
        self.shared.db.write(Durability::Normal, |tx| {
            tx.prepare_cached(
                "INSERT INTO sync_status (id, last_attempt_at, last_error_code, last_error, consecutive_failures)
                 VALUES (1, ?1, ?2, ?3, 1)
                 ON CONFLICT(id) DO UPDATE SET last_attempt_at = ?1, last_error_code = ?2,
                     last_error = ?3, consecutive_failures = consecutive_failures + 1",
            )?
            .execute(params![millis(now), code, error])?;
            Ok(())
        })
    }

    /// The sync status for the shells.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.shared.db.read(|tx| {
            // Each count through `outbox_by_status`: the outbox keeps every
            // fact ever sent, the waiting and refused ones are few.
            let counts: (i64, i64) = tx.query_row(
                "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),
                        (SELECT count(*) FROM outbox WHERE status = 'refused')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let row = tx
                .query_row(
                    "SELECT last_attempt_at, last_success_at, last_error_code, last_error,
                            consecutive_failures, clock_offset_ms
                     FROM sync_status WHERE id = 1",
                    [],
                    |r| {
                        Ok((
                            r.get::<_, Option<i64>>(0)?,
                            r.get::<_, Option<i64>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                        ))
                    },
                )
                .optional()?;
            let mut status = SyncStatus {
                pending: counts.0 as u64,
                refused: counts.1 as u64,
                ..SyncStatus::default()
            };
            if let Some((attempt, success, code, error, failures, offset)) = row {
                status.last_attempt_at = from_millis(attempt);
                status.last_success_at = from_millis(success);
                status.last_error_code = code;
                status.last_error = error;
                status.consecutive_failures = failures.clamp(0, i64::from(u32::MAX)) as u32;
                status.clock_offset_ms = offset;
            }
            Ok(status)
        })
    }
}

impl Store {
    /// Whether this device marked an entry after `server_acked` as
    /// acknowledged: the server says it holds less (it lost them).
    pub fn acked_after(&self, server_acked: i64) -> Result<bool> {
        self.shared.db.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM outbox WHERE seq > ?1 AND status = 'acked')",
                )?
                .query_row([server_acked], |r| r.get(0))?)
        })
    }

    /// The server has everything up to `server_acked` and expects the next
    /// sequence, but this device already marked later entries acknowledged
    /// (the server lost them, e.g. restored from a backup). Puts every
    /// acknowledged entry after `server_acked` back in the queue — the events
    /// themselves are never deleted — and returns how many were requeued.
    pub fn requeue_after(&self, server_acked: i64) -> Result<usize> {
        self.shared.db.write(Durability::Normal, |tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE outbox SET status = 'pending', acked_at = NULL
                     WHERE seq > ?1 AND status = 'acked'",
                )?
                .execute([server_acked])?)
        })
    }
}
