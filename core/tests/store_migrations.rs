//! A store written by schema v1 (frozen DDL) with unsynced work opens with
//! today's code: upgraded in place, nothing lost, same schema as a new store;
//! its projection, which carried a copy of the order, is read as it is and
//! rebuilt lean (schema v7: the order is stored once, in its receipt).

mod common;

use common::*;
use doorstep_core::ids::AssignmentId;
use doorstep_core::protocol::ChangeKind;
use doorstep_core::store::schema;
use doorstep_core::workflow::{Context, SequentialStamper, Visit};
use doorstep_core::{Playbook, VisitCommand, VisitState};
use rusqlite::{params, Connection};

fn schema_of(path: &std::path::Path) -> Vec<String> {
    let c = Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT type, name FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let mut out: Vec<String> = st
        .query_map([], |r| {
            Ok(format!(
                "{} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for table in [
        "device",
        "assignments",
        "visits",
        "visit_events",
        "outbox",
        "sync_cursor",
    ] {
        let mut st = c.prepare(&format!("PRAGMA table_info({table})")).unwrap();
        out.extend(
            st.query_map([], |r| {
                Ok(format!(
                    "{table}.{} {} notnull={}",
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?
                ))
            })
            .unwrap()
            .map(|r| r.unwrap()),
        );
    }
    out
}

#[test]
fn a_v1_store_with_unsynced_events_upgrades_without_loss() {
    let dir = TempDir::new("v1");
    // Events produced by the workflow in memory, stored the v1 way.
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut visit = Visit::new(pb);
    let mut stamper = SequentialStamper::default();
    let device = enrollment().device_id;
    let a = assignment("A-1", day());
    let mut cmds = vec![VisitCommand::ReceiveAssignment {
        assignment: Box::new(a.clone()),
    }];
    for _ in 0..4 {
        visit
            .handle(
                &cmds.remove(0),
                &Context::new(day(), device.clone()),
                &mut stamper,
            )
            .unwrap();
        let (next, _, _) = next_command(&visit.state).unwrap();
        cmds.push(next);
    }
    let state = VisitState::replay(&visit.events);
    {
        let c = Connection::open(dir.db()).unwrap();
        c.execute_batch(schema::V1).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        c.execute(
            "INSERT INTO device (id, device_id, technician_id, technician_name, enrolled_at)
             VALUES (1, 'phone-7', 'tech-42', 'Li Wei', 0)",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO assignments VALUES ('A-1', 1, 'appliance_repair', ?1, 0)",
            [serde_json::to_string(&a).unwrap()],
        )
        .unwrap();
        let vid = visit.events[0].visit_id.to_string();
        c.execute(
            "INSERT INTO visits VALUES (?1, 'A-1', 'appliance_repair', ?5, ?2, 0, NULL, ?3, ?4)",
            params![
                vid,
                day().timestamp_millis(),
                state.event_count as i64,
                serde_json::to_string(&state).unwrap(),
                doorstep_core::wire_name(&state.stage)
            ],
        )
        .unwrap();
        for e in &visit.events {
            c.execute(
                "INSERT INTO visit_events (event_id, visit_id, kind, hlc_millis, hlc_counter, recorded_at, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    e.id.to_string(),
                    vid,
                    e.kind.name(),
                    e.hlc.millis,
                    e.hlc.counter,
                    e.recorded_at.timestamp_millis(),
                    serde_json::to_string(e).unwrap()
                ],
            )
            .unwrap();
            c.execute(
                "INSERT INTO outbox (event_id, visit_id) VALUES (?1, ?2)",
                params![e.id.to_string(), vid],
            )
            .unwrap();
        }
    }

    let store = open(&dir.db());
    let aid = a.id.clone();
    assert_eq!(store.history(&aid).unwrap(), visit.events);
    assert_eq!(store.state(&aid).unwrap(), state);
    assert_eq!(store.pending_count().unwrap(), visit.events.len() as u64);
    assert!(store.verify_projections().unwrap().is_empty());
    // The old projection carried a copy of the order (v7 keeps it once, in
    // the receipt): a rebuild writes it lean, and the state reads the same.
    let copies = |path: &std::path::Path| -> usize {
        let c = Connection::open(path).unwrap();
        let mut st = c
            .prepare("SELECT json FROM visit_events UNION ALL SELECT state_json FROM visits")
            .unwrap();
        let rows = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(|r| r.unwrap().matches(ADDRESS).count()).sum()
    };
    assert_eq!(copies(&dir.db()), 2, "the receipt and the old projection");
    let rebuilt = store.rebuild().unwrap();
    assert_eq!((rebuilt.visits, rebuilt.changed), (1, 1));
    assert_eq!(copies(&dir.db()), 1, "the receipt only");
    assert_eq!(store.state(&aid).unwrap(), state);
    assert_eq!(store.rebuild().unwrap().changed, 0);
    // v2 features work on the upgraded file.
    let first = store.pending_outbox(1).unwrap()[0].seq;
    store.record_refused(first, "test", day()).unwrap();
    assert_eq!(store.refused().unwrap().len(), 1);
    // And the visit goes on.
    let (cmd, at, fix) = next_command(&store.state(&aid).unwrap()).unwrap();
    store.apply_command(&aid, &cmd, at, fix).unwrap();
    drop(store);

    let fresh = TempDir::new("fresh");
    drop(open(&fresh.db()));
    assert_eq!(schema_of(&dir.db()), schema_of(&fresh.db()));
}

/// A state written whole, every field present (as phones and the server
/// wrote it before the lean form; the fixture is a closed visit written
/// then): it reads back, and written again it leaves out exactly the
/// fields at their default and reads back equal.
#[test]
fn a_state_written_whole_reads_back_the_same_and_is_rewritten_lean() {
    let whole: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/visit_state_whole.json")).unwrap();
    let state: VisitState = serde_json::from_value(whole.clone()).unwrap();
    assert_eq!(state.stage, doorstep_core::Stage::Closed);
    let lean = serde_json::to_value(&state).unwrap();
    let (whole_fields, lean_fields) = (whole.as_object().unwrap(), lean.as_object().unwrap());
    for (name, value) in whole_fields {
        match lean_fields.get(name) {
            Some(kept) => assert_eq!(kept, value, "{name} kept as written"),
            None => assert!(is_default_json(value), "{name} left out at {value}"),
        }
    }
    assert!(lean_fields.len() < whole_fields.len(), "{lean}");
    assert_eq!(serde_json::from_value::<VisitState>(lean).unwrap(), state);
}

/// Schema v9: a visit's row names its order's fact (`order_seq`). A v8
/// store, whose rows found it through the partial index
/// `visit_events_receipts`, upgrades with each row pointed at its visit's
/// last receipt: a changed order reads back as changed.
#[test]
fn a_v8_store_upgrades_with_each_visit_reading_its_last_receipt() {
    let dir = TempDir::new("v8");
    let mut changed = assignment("A-1", day());
    changed.version = 2;
    changed.customer.address = Some("9 Huaihai Road".into());
    {
        let store = open(&dir.db());
        for change in [
            issued("A-1", day()),
            issued("A-2", day()),
            ChangeKind::Assignment {
                assignment: Box::new(changed.clone()),
            },
        ] {
            store.receive_assignment(&change, day()).unwrap();
        }
    }
    let fresh = schema_of(&dir.db());
    {
        // The same store as v8 kept it.
        let c = Connection::open(dir.db()).unwrap();
        c.execute_batch(
            "ALTER TABLE visits DROP COLUMN order_seq;
             CREATE INDEX visit_events_receipts ON visit_events(visit_id, seq)
                 WHERE kind = 'assignment_received';
             CREATE INDEX outbox_by_visit ON outbox(visit_id, status);
             DROP TRIGGER outbox_keeps_every_seq;
             DROP INDEX visits_due_for_purge;
             DROP INDEX visit_events_photo_digest;
             PRAGMA user_version = 8;",
        )
        .unwrap();
    }
    let store = open(&dir.db());
    assert_eq!(schema_of(&dir.db()), fresh, "the current schema");
    let a1 = store.state(AssignmentId::new("A-1").unwrap()).unwrap();
    assert_eq!(a1.assignment, Some(changed));
    let a2 = store.state(AssignmentId::new("A-2").unwrap()).unwrap();
    assert_eq!(a2.assignment, Some(assignment("A-2", day())));
    assert!(store.verify_projections().unwrap().is_empty());
}

/// The outbox's rows as stored, in sequence order.
fn outbox_rows(path: &std::path::Path) -> Vec<(i64, String, String, Option<i64>)> {
    let c = Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT seq, event_id, status, acked_at FROM outbox ORDER BY seq")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn outbox_sql(path: &std::path::Path) -> String {
    Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_v10_store_keeps_its_outbox_and_counts_on_from_its_last_sequence() {
    let dir = TempDir::new("v10");
    let aid = AssignmentId::new("A-1").unwrap();
    {
        let store = open(&dir.db());
        run_visit(&store, "A-1", day(), 12);
        let pending = store.pending_outbox(100).unwrap();
        store.ack_outbox(pending[4].seq, day()).unwrap();
    }
    let fresh = schema_of(&dir.db());
    let rows = outbox_rows(&dir.db());
    {
        // The same store as v10 kept it: the outbox counting on through
        // `sqlite_sequence`, and no guard against deleting its rows.
        let c = Connection::open(dir.db()).unwrap();
        c.execute_batch(
            "DROP TRIGGER visit_events_edit_after_ack;
             DROP TRIGGER outbox_keeps_every_seq;
             CREATE TABLE outbox_v10 (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 event_id TEXT NOT NULL UNIQUE REFERENCES visit_events(event_id),
                 visit_id TEXT NOT NULL,
                 status TEXT NOT NULL DEFAULT 'pending',
                 acked_at INTEGER,
                 refused_reason TEXT,
                 refused_at INTEGER
             );
             INSERT INTO outbox_v10 SELECT * FROM outbox;
             DROP TABLE outbox;
             ALTER TABLE outbox_v10 RENAME TO outbox;
             CREATE INDEX outbox_by_status ON outbox(status, seq);
             CREATE TRIGGER visit_events_edit_after_ack
             BEFORE UPDATE OF json ON visit_events
             WHEN EXISTS (SELECT 1 FROM outbox WHERE event_id = OLD.event_id AND status = 'pending')
             BEGIN
                 SELECT RAISE(ABORT, 'an event is edited (purged) only after the server acknowledged it');
             END;
             DROP INDEX visits_due_for_purge;
             DROP INDEX visit_events_photo_digest;
             PRAGMA user_version = 10;",
        )
        .unwrap();
        assert!(outbox_sql(&dir.db()).contains("AUTOINCREMENT"));
    }
    let store = open(&dir.db());
    assert_eq!(schema_of(&dir.db()), fresh, "the current schema");
    assert!(!outbox_sql(&dir.db()).contains("AUTOINCREMENT"));
    assert_eq!(outbox_rows(&dir.db()), rows, "every row, as it was");
    // A waiting fact is still guarded, and the next fact counts on.
    let c = Connection::open(dir.db()).unwrap();
    let err = c
        .execute(
            "UPDATE visit_events SET json = '{}' WHERE seq = (SELECT max(seq) FROM visit_events)",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("acknowledged"), "{err}");
    let s = store.state(&aid).unwrap();
    let (cmd, at, fix) = next_command(&s).expect("the visit goes on");
    store.apply_command(&aid, &cmd, at, fix).unwrap();
    let last = rows.last().unwrap().0;
    assert_eq!(outbox_rows(&dir.db()).last().unwrap().0, last + 1);
}
