//! The store's schema and its history, driven by `PRAGMA user_version`.
//!
//! A new database gets [`CURRENT`] in one go; an older one is upgraded one
//! version at a time by [`upgrade_from`]. Every past version's DDL is kept
//! here frozen ([`V1`]), and a test creates a database at each of them,
//! upgrades it and compares the result with a fresh one, so the two paths
//! cannot drift apart. Changes are additive (new columns last, new tables,
//! new indexes and triggers); a destructive change needs a table rebuild
//! migration and its own test.
//!
//! History:
//! - v1: device identity, assignments, visit events (append-only), the visit
//!   projection, the outbox and the sync cursor.
//! - v2: retention and refusals: `visits.purged_at`, `assignments.purged_at`,
//!   `outbox.refused_reason`/`refused_at`, and triggers that forbid editing
//!   an event's identity or its JSON while it waits for the server.
//! - v3: `sync_status`: the last sync attempt, success and error in words,
//!   and the device-to-server clock offset seen at the last sync.
//! - v4: `settings`: what the server tells every phone, as JSON by key (the
//!   business time zone, `business_zone`).
//! - v5: `download_acks`: the acknowledgements of applied download pages
//!   not yet delivered (`protocol::PageReceipt` as JSON, oldest first); the
//!   receipts they cover are in `visit_events` but never in the outbox
//!   (the server derives them from the acknowledgement).
//! - v6: `playbooks`: the company's published playbook versions, each kept
//!   as the server signed it (verified before it is stored) so a visit
//!   walks the version it started with for as long as it lives.
//! - v7: an order is stored once (`projection`): `visits.order_version` and
//!   `visits.order_technician` (the projection's state is kept without its
//!   order, read from the visit's last "assignment received" fact, found
//!   by the partial index `visit_events_receipts`), and `assignments.json`
//!   dropped (the order's copy there; the row keeps id, version, trade).
//!   Dropping a column is not additive: `ALTER TABLE ... DROP COLUMN`
//!   rewrites the table, and a test upgrades a v6 store holding orders.
//! - v8: the outbox sent as stored (`outbox_text`): `device.event_text_format`
//!   (the `workflow::EVENT_TEXT_FORMAT` of the app that last opened the
//!   store) and `device.outbox_rewritten_through` (waiting facts up to this
//!   sequence were stored under another number and are written again
//!   before they are sent).
//! - v9: a visit's row names the fact its order is read from
//!   (`visits.order_seq`, the seq of its last "assignment received"), found
//!   by its row id; the partial index `visit_events_receipts` that searched
//!   for it is dropped (one index fewer for every order a download writes).
//! - v10: the index `outbox_by_visit` is dropped: every command paid for
//!   a write at a random place in it (and every acknowledgement for moving
//!   an entry) to serve only the retention purge, which now takes the
//!   visits with waiting facts from the waiting rows (`outbox_by_status`).
//! - v11: the outbox's `seq` without `AUTOINCREMENT` (the table rebuilt):
//!   every command's insert also rewrote the outbox's row of
//!   `sqlite_sequence`, one more page per command, to guard against reusing
//!   the sequence of a deleted row; the trigger `outbox_keeps_every_seq`
//!   now forbids deleting one, so the next sequence, the last plus one, was
//!   never given before.
//! - v12: the partial index `visits_due_for_purge` (closed visits whose
//!   personal data is still held, by closing time): the retention run read
//!   every visit the phone ever made (`tests/store_history_reads.rs` saw
//!   its steps double with the history).
//! - v13: the partial index `visit_events_photo_digest`: each photo fact by
//!   the digest its text names (an index on an expression: the JSON
//!   functions are compiled out). The app's start asked of every photo not
//!   yet uploaded whether a fact names it by reading every fact the phone
//!   ever stored.

use super::error::{Result, StoreError};
use rusqlite::{Connection, Transaction};

/// The schema version this code reads and writes.
pub const VERSION: i64 = 13;

/// `PRAGMA application_id` of a Doorstep store: "DSTP".
pub const APPLICATION_ID: i64 = 0x4453_5450;

/// Version 1, frozen: never edit (databases in the field were created by it).
pub const V1: &str = r#"
CREATE TABLE device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT NOT NULL,
    technician_id TEXT NOT NULL,
    technician_name TEXT NOT NULL,
    hlc_millis INTEGER NOT NULL DEFAULT 0,
    hlc_counter INTEGER NOT NULL DEFAULT 0,
    evidence_head TEXT,
    enrolled_at INTEGER NOT NULL
);
CREATE TABLE assignments (
    assignment_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    trade TEXT NOT NULL,
    json TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE TABLE visits (
    visit_id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL UNIQUE,
    trade TEXT NOT NULL,
    stage TEXT NOT NULL,
    window_start INTEGER,
    closed INTEGER NOT NULL DEFAULT 0,
    closed_at INTEGER,
    event_count INTEGER NOT NULL,
    state_json TEXT NOT NULL
);
CREATE INDEX visits_by_window ON visits(window_start);
CREATE TABLE visit_events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    visit_id TEXT NOT NULL REFERENCES visits(visit_id),
    kind TEXT NOT NULL,
    hlc_millis INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX visit_events_by_visit ON visit_events(visit_id, seq);
CREATE TRIGGER visit_events_append_only BEFORE DELETE ON visit_events
BEGIN
    SELECT RAISE(ABORT, 'visit events are append-only');
END;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE REFERENCES visit_events(event_id),
    visit_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    acked_at INTEGER
);
CREATE INDEX outbox_by_status ON outbox(status, seq);
CREATE INDEX outbox_by_visit ON outbox(visit_id, status);
CREATE TABLE sync_cursor (
    stream TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
"#;

/// v1 -> v2: retention bookkeeping, refused outbox entries, event guards.
const V1_TO_V2: &str = r#"
ALTER TABLE visits ADD COLUMN purged_at INTEGER;
ALTER TABLE assignments ADD COLUMN purged_at INTEGER;
ALTER TABLE outbox ADD COLUMN refused_reason TEXT;
ALTER TABLE outbox ADD COLUMN refused_at INTEGER;
CREATE TRIGGER visit_events_identity_fixed
BEFORE UPDATE OF event_id, visit_id, kind, hlc_millis, hlc_counter, recorded_at ON visit_events
BEGIN
    SELECT RAISE(ABORT, 'an event''s identity never changes');
END;
CREATE TRIGGER visit_events_edit_after_ack
BEFORE UPDATE OF json ON visit_events
WHEN EXISTS (SELECT 1 FROM outbox WHERE event_id = OLD.event_id AND status = 'pending')
BEGIN
    SELECT RAISE(ABORT, 'an event is edited (purged) only after the server acknowledged it');
END;
"#;

/// Version 2, frozen: what new databases were created with at v2. Must
/// describe exactly what `V1` + `V1_TO_V2` gives (the upgrade test checks it).
pub const V2: &str = r#"
CREATE TABLE device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT NOT NULL,
    technician_id TEXT NOT NULL,
    technician_name TEXT NOT NULL,
    hlc_millis INTEGER NOT NULL DEFAULT 0,
    hlc_counter INTEGER NOT NULL DEFAULT 0,
    evidence_head TEXT,
    enrolled_at INTEGER NOT NULL
);
CREATE TABLE assignments (
    assignment_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    trade TEXT NOT NULL,
    json TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    purged_at INTEGER
);
CREATE TABLE visits (
    visit_id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL UNIQUE,
    trade TEXT NOT NULL,
    stage TEXT NOT NULL,
    window_start INTEGER,
    closed INTEGER NOT NULL DEFAULT 0,
    closed_at INTEGER,
    event_count INTEGER NOT NULL,
    state_json TEXT NOT NULL,
    purged_at INTEGER
);
CREATE INDEX visits_by_window ON visits(window_start);
CREATE TABLE visit_events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    visit_id TEXT NOT NULL REFERENCES visits(visit_id),
    kind TEXT NOT NULL,
    hlc_millis INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX visit_events_by_visit ON visit_events(visit_id, seq);
CREATE TRIGGER visit_events_append_only BEFORE DELETE ON visit_events
BEGIN
    SELECT RAISE(ABORT, 'visit events are append-only');
END;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE REFERENCES visit_events(event_id),
    visit_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    acked_at INTEGER,
    refused_reason TEXT,
    refused_at INTEGER
);
CREATE INDEX outbox_by_status ON outbox(status, seq);
CREATE INDEX outbox_by_visit ON outbox(visit_id, status);
CREATE TABLE sync_cursor (
    stream TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TRIGGER visit_events_identity_fixed
BEFORE UPDATE OF event_id, visit_id, kind, hlc_millis, hlc_counter, recorded_at ON visit_events
BEGIN
    SELECT RAISE(ABORT, 'an event''s identity never changes');
END;
CREATE TRIGGER visit_events_edit_after_ack
BEFORE UPDATE OF json ON visit_events
WHEN EXISTS (SELECT 1 FROM outbox WHERE event_id = OLD.event_id AND status = 'pending')
BEGIN
    SELECT RAISE(ABORT, 'an event is edited (purged) only after the server acknowledged it');
END;
"#;

/// v2 -> v3: sync bookkeeping the shells show (pending, last success, last error).
const V2_TO_V3: &str = r#"
CREATE TABLE sync_status (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_attempt_at INTEGER,
    last_success_at INTEGER,
    last_error_code TEXT,
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    clock_offset_ms INTEGER,
    server_time INTEGER
);
"#;

/// v3 -> v4: settings the server sends (the business time zone).
const V3_TO_V4: &str = r#"
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
"#;

/// v4 -> v5: page acknowledgements waiting for the server.
const V4_TO_V5: &str = r#"
CREATE TABLE download_acks (
    page INTEGER PRIMARY KEY AUTOINCREMENT,
    ack_json TEXT NOT NULL
);
"#;

/// v5 -> v6: the published playbooks (`crate::playbook::PublishedPlaybook`).
const V5_TO_V6: &str = r#"
CREATE TABLE playbooks (
    trade TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (trade, version)
);
"#;

/// v6 -> v7: an order stored once (`super::projection`).
const V6_TO_V7: &str = r#"
ALTER TABLE visits ADD COLUMN order_version INTEGER;
ALTER TABLE visits ADD COLUMN order_technician TEXT;
ALTER TABLE assignments DROP COLUMN json;
CREATE INDEX visit_events_receipts ON visit_events(visit_id, seq)
    WHERE kind = 'assignment_received';
"#;
/// v7 -> v8: the outbox sent as stored (`super::outbox_text`). A store
/// upgraded from an older version has `event_text_format` NULL: its
/// waiting facts are written again before they are sent.
const V7_TO_V8: &str = r#"
ALTER TABLE device ADD COLUMN event_text_format INTEGER;
ALTER TABLE device ADD COLUMN outbox_rewritten_through INTEGER NOT NULL DEFAULT 0;
"#;

/// v8 -> v9: a visit's order found by its row (`super::projection`).
const V8_TO_V9: &str = r#"
ALTER TABLE visits ADD COLUMN order_seq INTEGER;
UPDATE visits SET order_seq = (SELECT max(e.seq) FROM visit_events e
                               WHERE e.visit_id = visits.visit_id AND e.kind = 'assignment_received')
 WHERE order_version IS NOT NULL;
DROP INDEX visit_events_receipts;
"#;

/// v9 -> v10: no index of the outbox by visit (`super::retention`).
const V9_TO_V10: &str = r#"
DROP INDEX outbox_by_visit;
"#;

/// v10 -> v11: the outbox rebuilt without `AUTOINCREMENT`, its rows never
/// deleted instead. The trigger that reads the outbox is dropped while the
/// table is replaced and created again as it was.
const V10_TO_V11: &str = r#"
DROP TRIGGER visit_events_edit_after_ack;
CREATE TABLE outbox_v11 (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE REFERENCES visit_events(event_id),
    visit_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    acked_at INTEGER,
    refused_reason TEXT,
    refused_at INTEGER
);
INSERT INTO outbox_v11 (seq, event_id, visit_id, status, acked_at, refused_reason, refused_at)
    SELECT seq, event_id, visit_id, status, acked_at, refused_reason, refused_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v11 RENAME TO outbox;
CREATE INDEX outbox_by_status ON outbox(status, seq);
CREATE TRIGGER outbox_keeps_every_seq BEFORE DELETE ON outbox
BEGIN
    SELECT RAISE(ABORT, 'the outbox keeps every row: a sequence is never given twice');
END;
CREATE TRIGGER visit_events_edit_after_ack
BEFORE UPDATE OF json ON visit_events
WHEN EXISTS (SELECT 1 FROM outbox WHERE event_id = OLD.event_id AND status = 'pending')
BEGIN
    SELECT RAISE(ABORT, 'an event is edited (purged) only after the server acknowledged it');
END;
"#;

/// v11 -> v12: the closed visits still holding personal data found by
/// their closing time (`super::retention`), not by reading every visit.
const V11_TO_V12: &str = r#"
CREATE INDEX visits_due_for_purge ON visits(closed_at) WHERE closed = 1 AND purged_at IS NULL;
"#;

/// v12 -> v13: a photo fact found by the digest it names
/// (`super::blobs`): the text after the first `"digest":"` of a
/// `photo_taken` fact's JSON, which holds only the photo's.
const V12_TO_V13: &str = r#"
CREATE INDEX visit_events_photo_digest
    ON visit_events(substr(json, instr(json, '"digest":"') + 10, 64))
    WHERE kind = 'photo_taken';
"#;

/// The current schema for a new database: the newest frozen version plus
/// the upgrades after it.
pub const CURRENT: [&str; 12] = [
    V2, V2_TO_V3, V3_TO_V4, V4_TO_V5, V5_TO_V6, V6_TO_V7, V7_TO_V8, V8_TO_V9, V9_TO_V10,
    V10_TO_V11, V11_TO_V12, V12_TO_V13,
];

/// Upgrade steps: `UPGRADES[i]` takes a database from version `i + 1` to `i + 2`.
const UPGRADES: [&str; (VERSION - 1) as usize] = [
    V1_TO_V2, V2_TO_V3, V3_TO_V4, V4_TO_V5, V5_TO_V6, V6_TO_V7, V7_TO_V8, V8_TO_V9, V9_TO_V10,
    V10_TO_V11, V11_TO_V12, V12_TO_V13,
];

/// What `PRAGMA user_version` and `application_id` say about a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub user_version: i64,
    pub application_id: i64,
    /// Number of schema objects (0 for a new, empty database).
    pub objects: i64,
}

/// Reads the version header without changing anything.
pub fn header(conn: &Connection) -> Result<Header> {
    let user_version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let application_id = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let objects = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(Header {
        user_version,
        application_id,
        objects,
    })
}

/// Refuses a database this code must not touch: a newer schema, or a file
/// that belongs to another application. Nothing is written.
pub fn check_compatible(h: &Header) -> Result<()> {
    if h.user_version > VERSION {
        return Err(StoreError::SchemaTooNew {
            found: h.user_version,
            supported: VERSION,
        });
    }
    let foreign_app = h.application_id != 0 && h.application_id != APPLICATION_ID;
    let unversioned_with_tables = h.user_version == 0 && h.objects > 0;
    if foreign_app || unversioned_with_tables || h.user_version < 0 {
        return Err(StoreError::ForeignDatabase {
            application_id: h.application_id,
            user_version: h.user_version,
        });
    }
    Ok(())
}

/// Creates or upgrades the schema inside `tx` (the caller commits).
pub fn migrate(tx: &Transaction<'_>) -> Result<()> {
    let h = header(tx)?;
    check_compatible(&h)?;
    if h.user_version == VERSION && h.application_id == APPLICATION_ID {
        return Ok(()); // current: write nothing (opening stays read-only)
    }
    if h.user_version == 0 {
        init(tx)?;
    } else {
        for from in h.user_version..VERSION {
            upgrade_from(tx, from)?;
        }
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}

/// A new database: the current schema in one go.
pub fn init(tx: &Transaction<'_>) -> Result<()> {
    for ddl in CURRENT {
        tx.execute_batch(ddl)?;
    }
    Ok(())
}

/// One upgrade step, from `version` to `version + 1`.
pub fn upgrade_from(tx: &Transaction<'_>, version: i64) -> Result<()> {
    let step = usize::try_from(version - 1)
        .ok()
        .and_then(|i| UPGRADES.get(i))
        .ok_or(StoreError::SchemaTooNew {
            found: version,
            supported: VERSION,
        })?;
    tx.execute_batch(step)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything that defines the schema, normalised: table columns,
    /// indexes with their columns, foreign keys, and the exact SQL of indexes
    /// and triggers (table SQL differs textually after `ALTER TABLE`).
    fn describe(conn: &Connection) -> Vec<String> {
        let mut out = vec![];
        let mut stmt = conn
            .prepare(
                "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        let objects: Vec<(String, String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (kind, name, table, sql) in objects {
            if kind == "table" {
                // A table's SQL is compared for what `ALTER TABLE` keeps
                // as written: whether its key counts on (`AUTOINCREMENT`).
                let counts_on = sql.to_uppercase().contains("AUTOINCREMENT");
                out.push(format!("table {name} autoincrement {counts_on}"));
                let mut s = conn
                    .prepare(&format!("PRAGMA table_xinfo({name})"))
                    .unwrap();
                let cols = s
                    .query_map([], |r| {
                        Ok(format!(
                            "  col {} {} {} notnull={} default={:?} pk={}",
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?
                        ))
                    })
                    .unwrap();
                out.extend(cols.map(|c| c.unwrap()));
                let mut s = conn
                    .prepare(&format!("PRAGMA foreign_key_list({name})"))
                    .unwrap();
                let fks = s
                    .query_map([], |r| {
                        Ok(format!(
                            "  fk {}.{} -> {}.{}",
                            name,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(4)?
                        ))
                    })
                    .unwrap();
                out.extend(fks.map(|c| c.unwrap()));
            } else {
                out.push(format!("{kind} {name} on {table}: {sql}"));
                if kind == "index" {
                    let mut s = conn
                        .prepare(&format!("PRAGMA index_xinfo({name})"))
                        .unwrap();
                    let cols = s
                        .query_map([], |r| {
                            Ok(format!("  key {:?}", r.get::<_, Option<String>>(2)?))
                        })
                        .unwrap();
                    out.extend(cols.map(|c| c.unwrap()));
                }
            }
        }
        // Automatic indexes (UNIQUE, PRIMARY KEY) by table.
        let mut stmt = conn
            .prepare("SELECT name, tbl_name FROM sqlite_master WHERE name LIKE 'sqlite_autoindex%' ORDER BY name")
            .unwrap();
        let autos: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!(
                    "auto {} on {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?
                ))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.extend(autos);
        out
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        migrate(&tx).unwrap();
        tx.commit().unwrap();
        conn
    }

    /// Every historical version, frozen: (version, DDL to create it).
    fn history() -> Vec<(i64, String)> {
        vec![
            (1, V1.to_string()),
            (2, V2.to_string()),
            (3, format!("{V2}{V2_TO_V3}")),
            (4, format!("{V2}{V2_TO_V3}{V3_TO_V4}")),
            (5, format!("{V2}{V2_TO_V3}{V3_TO_V4}{V4_TO_V5}")),
            (6, format!("{V2}{V2_TO_V3}{V3_TO_V4}{V4_TO_V5}{V5_TO_V6}")),
            (
                7,
                format!("{V2}{V2_TO_V3}{V3_TO_V4}{V4_TO_V5}{V5_TO_V6}{V6_TO_V7}"),
            ),
            (
                8,
                format!("{V2}{V2_TO_V3}{V3_TO_V4}{V4_TO_V5}{V5_TO_V6}{V6_TO_V7}{V7_TO_V8}"),
            ),
            (
                9,
                format!(
                    "{V2}{V2_TO_V3}{V3_TO_V4}{V4_TO_V5}{V5_TO_V6}{V6_TO_V7}{V7_TO_V8}{V8_TO_V9}"
                ),
            ),
            (
                10,
                format!(
                    "{V2}{V2_TO_V3}{V3_TO_V4}{V4_TO_V5}{V5_TO_V6}{V6_TO_V7}{V7_TO_V8}{V8_TO_V9}{V9_TO_V10}"
                ),
            ),
            (11, CURRENT[..10].concat()),
            (12, CURRENT[..11].concat()),
        ]
    }

    #[test]
    fn upgrading_every_earlier_version_gives_the_fresh_schema() {
        let want = describe(&fresh());
        assert!(want.iter().any(|l| l.contains("purged_at")));
        let history = history();
        assert_eq!(
            history.len() as i64,
            VERSION - 1,
            "freeze every past version"
        );
        for (version, ddl) in history {
            let mut conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(&ddl).unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
            let tx = conn.transaction().unwrap();
            migrate(&tx).unwrap();
            tx.commit().unwrap();
            assert_eq!(describe(&conn), want, "upgrade from v{version}");
            assert_eq!(header(&conn).unwrap().user_version, VERSION);
        }
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = fresh();
        let before = describe(&conn);
        let tx = conn.transaction().unwrap();
        migrate(&tx).unwrap();
        tx.commit().unwrap();
        assert_eq!(describe(&conn), before);
    }

    #[test]
    fn newer_schema_is_refused_without_changes() {
        let h = Header {
            user_version: VERSION + 1,
            application_id: APPLICATION_ID,
            objects: 10,
        };
        assert!(matches!(
            check_compatible(&h),
            Err(StoreError::SchemaTooNew { found, supported }) if found == VERSION + 1 && supported == VERSION
        ));
    }

    #[test]
    fn foreign_database_is_refused() {
        let h = Header {
            user_version: 0,
            application_id: 0,
            objects: 3,
        };
        assert!(matches!(
            check_compatible(&h),
            Err(StoreError::ForeignDatabase { .. })
        ));
        let h = Header {
            user_version: 1,
            application_id: 0x1234,
            objects: 3,
        };
        assert!(matches!(
            check_compatible(&h),
            Err(StoreError::ForeignDatabase { .. })
        ));
    }
}
