//! The waiting facts as the sync client sends them: the JSON text the store
//! keeps, as it stands — not parsed into a `VisitEvent` and written again
//! (that was a quarter of a phone's upload CPU). The text is what this app
//! version's serialiser wrote when the fact was recorded, so it is the JSON
//! the typed fact would give. A fact an app version of another
//! `workflow::EVENT_TEXT_FORMAT` stored could hold a field this version no
//! longer has (the server refuses a field its type lacks): when the store
//! is first opened by a version of another number, every fact then waiting
//! is marked (`device.outbox_rewritten_through`) and is parsed and written
//! again before it is sent.

use super::db::{Db, Durability};
use super::error::Result;
use crate::workflow::EVENT_TEXT_FORMAT;
use rusqlite::{params, OptionalExtension};

/// On opening: a store last opened by an app of another event text format
/// marks the facts waiting now as to be written again; nothing is written
/// when the format is this app's.
pub(super) fn settle_event_text_format(db: &Db) -> Result<()> {
    let stored: Option<i64> = db.read(|tx| {
        Ok(tx
            .query_row(
                "SELECT event_text_format FROM device WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    })?;
    if stored == Some(EVENT_TEXT_FORMAT) {
        return Ok(());
    }
    db.write(Durability::Normal, |tx| {
        tx.execute(
            "UPDATE device SET event_text_format = ?1,
                 outbox_rewritten_through = max(outbox_rewritten_through,
                     COALESCE((SELECT max(seq) FROM outbox WHERE status = 'pending'), 0))
             WHERE id = 1",
            params![EVENT_TEXT_FORMAT],
        )?;
        Ok(())
    })
}

/// The facts waiting for the server with a sequence after `after_seq`,
/// oldest first, at most `limit`: each sequence and stored text to `take`,
/// which says whether to go on.
pub(super) fn each_pending(
    tx: &rusqlite::Transaction<'_>,
    after_seq: i64,
    limit: usize,
    mut take: impl FnMut(i64, String) -> Result<bool>,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "SELECT o.seq, e.json FROM outbox o JOIN visit_events e ON e.event_id = o.event_id
         WHERE o.status = 'pending' AND o.seq > ?1 ORDER BY o.seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after_seq, limit as i64])?;
    while let Some(row) = rows.next()? {
        if !take(row.get(0)?, row.get(1)?)? {
            break;
        }
    }
    Ok(())
}

/// Reading the waiting facts for the sync client.
#[cfg(feature = "sync")]
mod sending {
    use super::super::error::{Result, StoreError};
    use super::super::{from_json, Store};
    use crate::protocol::{OutboxEvent, SentEvent};
    use crate::workflow::VisitEvent;
    use rusqlite::OptionalExtension;
    use serde_json::value::RawValue;

    impl Store {
        /// The oldest facts waiting for the server with a sequence after
        /// `after_seq`, as they are sent: at most `limit`, and no more once
        /// their JSON reaches `max_bytes` (always at least one), so a batch is
        /// sized by its cost on the wire rather than by its count. The sync
        /// client reads the next batch while the server stores the one before.
        pub(crate) fn pending_outbox_texts_after(
            &self,
            after_seq: i64,
            limit: usize,
            max_bytes: usize,
        ) -> Result<Vec<OutboxEvent<SentEvent>>> {
            self.shared.db.read(|tx| {
                let rewritten_through: i64 = tx
                    .prepare_cached("SELECT outbox_rewritten_through FROM device WHERE id = 1")?
                    .query_row([], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                let mut out = vec![];
                let mut bytes = 0usize;
                super::each_pending(tx, after_seq, limit, |seq, json| {
                    if bytes >= max_bytes {
                        return Ok(false);
                    }
                    bytes += json.len();
                    let text = if seq <= rewritten_through {
                        rewritten(&json)?
                    } else {
                        json
                    };
                    out.push(OutboxEvent {
                        seq: seq as u64,
                        event: RawValue::from_string(text)
                            .map_err(|e| StoreError::decode("visit event", e))?,
                    });
                    Ok(true)
                })?;
                Ok(out)
            })
        }
    }

    /// A fact stored by an app of another event text format, as this one
    /// writes it.
    fn rewritten(json: &str) -> Result<String> {
        let event: VisitEvent = from_json("visit event", json)?;
        serde_json::to_string(&event).map_err(|e| StoreError::decode("visit event", e))
    }
}
