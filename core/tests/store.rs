//! The store's write path and read API.

mod common;

use chrono::{Duration, FixedOffset, NaiveDate};
use common::*;
use doorstep_core::protocol::{AssignmentChange, ChangeKind};
use doorstep_core::receipt::ReceiptIds;
use doorstep_core::signoff;
use doorstep_core::store::{durability_of, Durability, Store, StoreError};
use doorstep_core::workflow::EventKind;
use doorstep_core::{AssignmentId, Stage, TechnicianId, VisitCommand, WorkflowError};

fn aid(s: &str) -> AssignmentId {
    AssignmentId::new(s).unwrap()
}

/// The center gives `id` to another technician, tech-9, at `version`.
fn reassigned_to_tech_9(id: &str, version: u64) -> ChangeKind {
    ChangeKind::Reassigned {
        assignment_id: aid(id),
        version,
        to: TechnicianId::new("tech-9").unwrap(),
    }
}

#[test]
fn a_whole_visit_is_stored_as_events_projection_and_outbox() {
    let dir = TempDir::new("whole");
    let store = open(&dir.db());
    let n = run_visit(&store, "A-1", day(), 1000);
    let s = store.state(aid("A-1")).unwrap();
    assert_eq!(s.stage, Stage::Closed, "after {n} commands");
    let history = store.history(aid("A-1")).unwrap();
    assert_eq!(history.len() as u64, s.event_count);
    assert_eq!(store.pending_count().unwrap(), s.event_count);
    let outbox = store.pending_outbox(1000).unwrap();
    let ids: Vec<_> = outbox.iter().map(|o| o.event.id).collect();
    let hist_ids: Vec<_> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, hist_ids, "outbox holds every event, in order");
    assert!(outbox.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(store.verify_projections().unwrap().is_empty());
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
}

#[test]
fn projection_equals_rebuild_from_events() {
    let dir = TempDir::new("rebuild");
    let store = open(&dir.db());
    for i in 0..5 {
        run_visit(&store, &format!("A-{i}"), day(), 5 + i * 9);
    }
    assert!(store.verify_projections().unwrap().is_empty());
    let report = store.rebuild().unwrap();
    assert_eq!(report.visits, 5);
    assert_eq!(report.changed, 0);
}

#[test]
fn refused_command_writes_nothing() {
    let dir = TempDir::new("refused");
    let store = open(&dir.db());
    store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap();
    let before = store.pending_count().unwrap();
    let hlc_before = store.device().unwrap().hlc;
    let err = store
        .apply_command(
            aid("A-1"),
            &VisitCommand::Depart { travel_minutes: 10 },
            day(),
            None,
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Workflow(WorkflowError::OutOfOrder { .. })),
        "{err}"
    );
    assert_eq!(store.pending_count().unwrap(), before);
    assert_eq!(store.device().unwrap().hlc, hlc_before);
}

#[test]
fn unknown_visit_is_a_typed_error() {
    let dir = TempDir::new("unknown");
    let store = open(&dir.db());
    let err = store
        .apply_command(aid("NOPE"), &VisitCommand::BriefCustomer, day(), None)
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownAssignment(_)));
    assert_eq!(err.code(), "store_unknown_assignment");
}

#[test]
fn hlc_survives_reopen_and_keeps_increasing() {
    let dir = TempDir::new("hlc");
    let last = {
        let store = open(&dir.db());
        run_visit(&store, "A-1", day(), 6);
        store.device().unwrap().hlc
    };
    let store = open(&dir.db());
    assert_eq!(store.device().unwrap().hlc, last);
    // A command recorded with an earlier wall clock still gets a later stamp.
    run_visit(&store, "A-2", day() - Duration::days(3), 2);
    let e = store.history(aid("A-2")).unwrap();
    assert!(e.iter().all(|e| e.hlc > last));
}

#[test]
fn sign_off_chains_evidence_across_visits() {
    let dir = TempDir::new("chain");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 1000);
    run_visit(&store, "A-2", day() + Duration::hours(3), 1000);
    let evidence: Vec<_> = ["A-1", "A-2"]
        .iter()
        .flat_map(|a| store.history(aid(a)).unwrap())
        .filter_map(|e| match e.kind {
            EventKind::CustomerSignedOff { evidence, .. } => Some(evidence),
            _ => None,
        })
        .collect();
    assert_eq!(evidence.len(), 2);
    assert_eq!(evidence[0].previous_evidence_digest, None);
    assert_eq!(
        evidence[1].previous_evidence_digest,
        Some(evidence[0].digest())
    );
    signoff::verify_chain(&evidence).unwrap();
    assert_eq!(
        store.device().unwrap().evidence_head,
        Some(evidence[1].digest())
    );
    signoff::verify(&store.state(aid("A-2")).unwrap()).unwrap();
}

/// Sign-offs, declines and payments are written with `Durability::Full`;
/// that a Full write really commits with `synchronous=FULL` is checked next
/// to the commit, in `store::db`'s unit test
/// `a_full_write_commits_with_synchronous_full_and_then_returns_to_normal`.
#[test]
fn customer_facing_facts_commit_durably() {
    use doorstep_core::signoff::Ratings;
    let full = [
        VisitCommand::SignOff {
            ratings: Ratings {
                quality: 5,
                attitude: 5,
            },
            comment: None,
            strokes: signature(),
            consent_text: "ok".into(),
            shown_digest: None,
        },
        VisitCommand::DeclineSignature { reason: "x".into() },
        VisitCommand::CollectPayment {
            amount: 1,
            method: doorstep_core::workflow::command::PaymentMethod::Cash,
            receipt: doorstep_core::workflow::command::ReceiptRecord::Receipt {
                number: "1".into(),
            },
            qr: None,
        },
        VisitCommand::RefusePayment { reason: "x".into() },
    ];
    for c in &full {
        assert_eq!(durability_of(c), Durability::Full, "{}", c.name());
    }
    assert_eq!(
        durability_of(&VisitCommand::BriefCustomer),
        Durability::Normal
    );
    assert_eq!(
        durability_of(&VisitCommand::Depart { travel_minutes: 1 }),
        Durability::Normal
    );
}

#[test]
fn todays_visits_are_sorted_by_window_in_the_technicians_zone() {
    let dir = TempDir::new("today");
    let store = open(&dir.db());
    // Shanghai is UTC+8: 2026-11-25 local runs from 11-24 16:00Z to 11-25 16:00Z.
    let cst = FixedOffset::east_opt(8 * 3600).unwrap();
    let base = day(); // 09:00Z = 17:00 local on the 25th
    for (id, hours) in [("late", 5), ("early", -16), ("mid", 2), ("tomorrow", 8)] {
        store
            .receive_assignment(
                &issued(id, base + Duration::hours(hours)),
                base - Duration::days(1),
            )
            .unwrap();
    }
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let list = |offset| -> Vec<String> {
        store
            .visits_on(today, offset)
            .unwrap()
            .into_iter()
            .map(|v| v.assignment_id.to_string())
            .collect()
    };
    assert_eq!(list(cst), ["early", "mid", "late"]);
    let utc = FixedOffset::east_opt(0).unwrap();
    assert_eq!(list(utc), ["mid", "late", "tomorrow"]);
    let first = &store.visits_on(today, cst).unwrap()[0];
    assert_eq!(first.customer_name.as_deref(), Some("Wang Fang"));
    assert_eq!(first.stage, Stage::Intake);
}

#[test]
fn updated_assignment_changes_the_visit_and_redelivery_changes_nothing() {
    let dir = TempDir::new("update");
    let store = open(&dir.db());
    store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap();
    assert!(store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap()
        .is_empty());
    let mut a = assignment("A-1", day() + Duration::hours(1));
    a.version = 2;
    let ev = store
        .receive_assignment(
            &ChangeKind::Assignment {
                assignment: Box::new(a.clone()),
            },
            day(),
        )
        .unwrap();
    assert_eq!(ev.len(), 1);
    let s = store.state(aid("A-1")).unwrap();
    assert_eq!(s.assignment_version(), 2);
    assert_eq!(s.window.unwrap().start, day() + Duration::hours(1));
    // an older version arriving late changes nothing
    assert!(store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap()
        .is_empty());
    assert_eq!(store.state(aid("A-1")).unwrap().assignment_version(), 2);
}

#[test]
fn cancel_before_departure_closes_and_after_departure_raises_conflict() {
    let dir = TempDir::new("cancel");
    let store = open(&dir.db());
    store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap();
    store
        .receive_assignment(
            &ChangeKind::Cancelled {
                assignment_id: aid("A-1"),
                version: 2,
                reason: "customer cancelled".into(),
            },
            day(),
        )
        .unwrap();
    assert_eq!(store.state(aid("A-1")).unwrap().stage, Stage::Closed);

    run_visit(&store, "A-2", day(), 14); // departed
    assert!(store.state(aid("A-2")).unwrap().started());
    let ev = store
        .receive_assignment(&reassigned_to_tech_9("A-2", 2), day())
        .unwrap();
    assert_eq!(ev.len(), 2);
    let s = store.state(aid("A-2")).unwrap();
    assert!(s.conflict.is_some() && s.stage != Stage::Closed);
    // cancelling something never received changes nothing
    let none = store
        .receive_assignment(
            &ChangeKind::Cancelled {
                assignment_id: aid("ZZ"),
                version: 1,
                reason: "x".into(),
            },
            day(),
        )
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn download_page_and_cursor_commit_together() {
    let dir = TempDir::new("page");
    let store = open(&dir.db());
    let page = [issued("A-1", day()), issued("A-2", day())]
        .into_iter()
        .enumerate()
        .map(|(i, change)| AssignmentChange {
            seq: 41 + i as u64,
            change,
        })
        .collect::<Vec<_>>();
    store
        .apply_download_page(&page, "42", day(), ReceiptIds::InChangeOrder)
        .unwrap();
    assert_eq!(
        store.sync_cursor("assignments").unwrap().as_deref(),
        Some("42")
    );
    assert_eq!(store.visit_count().unwrap(), 2);
}

#[test]
fn a_download_page_records_its_receipts_locally_and_acknowledges_them_instead_of_uploading() {
    // Either way a server may derive the ids: a current one's, and the
    // first scheme, which older servers (naming none) derive.
    for ids in [ReceiptIds::Hashed, ReceiptIds::InChangeOrder] {
        a_page_with_its_receipt_ids_drawn(ids);
    }
}

fn a_page_with_its_receipt_ids_drawn(ids: ReceiptIds) {
    let dir = TempDir::new("receipts");
    let store = open(&dir.db());
    let page: Vec<AssignmentChange> = [(41, issued("A-1", day())), (43, issued("A-2", day()))]
        .into_iter()
        .map(|(seq, change)| AssignmentChange { seq, change })
        .collect();
    store.set_sync_cursor("assignments", "40", day()).unwrap();
    let events = store.apply_download_page(&page, "43", day(), ids).unwrap();
    assert_eq!(events.len(), 2, "one receipt per assignment, in the log");
    assert_eq!(store.history(aid("A-1")).unwrap().len(), 1);
    assert_eq!(store.pending_count().unwrap(), 0, "no receipt is uploaded");
    let acks = store.pending_download_acks().unwrap();
    assert_eq!(acks.len(), 1);
    let (row, ack) = &acks[0];
    assert_eq!((ack.after, ack.cursor), (40, 43));
    assert_eq!(ack.receipts, vec![[41, 41], [43, 43]]);
    assert_eq!(ack.applied_at, day());
    assert_eq!(ack.ids, ids);
    // The acknowledgement names what the server needs to derive each
    // receipt exactly as the phone recorded it.
    let base = ack.base();
    for (e, seq) in events.iter().zip([41, 43]) {
        assert_eq!(e.id, base.event_id(store.device_id(), seq, 0));
        assert_eq!(e.hlc, base.stamp(seq, 0));
        assert_eq!(
            e.visit_id,
            base.visit_id(store.device_id(), &e.assignment_id, seq)
        );
    }
    assert_eq!(store.clear_download_acks(*row).unwrap(), 1);
    assert!(store.pending_download_acks().unwrap().is_empty());
    // A later local fact is stamped after the page's.
    let state = store.state(aid("A-1")).unwrap();
    let (cmd, at, fix) = next_command(&state).expect("a next step");
    store.apply_command(aid("A-1"), &cmd, at, fix).unwrap();
    let later = store.history(aid("A-1")).unwrap();
    assert!(later[1].hlc > later[0].hlc);
    assert_eq!(store.pending_count().unwrap(), 1);
}

/// How many times `needle` is written in the store's tables, as stored.
fn copies_in_file(store: &Store, needle: &str) -> usize {
    let c = rusqlite::Connection::open(store.path()).unwrap();
    let mut n = 0;
    for (table, column) in [("visit_events", "json"), ("visits", "state_json")] {
        let mut st = c.prepare(&format!("SELECT {column} FROM {table}")).unwrap();
        let rows = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
        n += rows
            .map(|r| r.unwrap().matches(needle).count())
            .sum::<usize>();
    }
    let columns: Vec<String> = c
        .prepare("SELECT name FROM pragma_table_info('assignments')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "assignment_id",
            "version",
            "trade",
            "received_at",
            "purged_at"
        ],
        "the assignments table keeps what sync needs, not the order"
    );
    n
}

/// A store whose first download page brought order A-1.
fn a_store_that_received_a_1(tag: &str) -> (TempDir, Store) {
    let dir = TempDir::new(tag);
    let store = open(&dir.db());
    let page = vec![AssignmentChange {
        seq: 1,
        change: issued("A-1", day()),
    }];
    store
        .apply_download_page(&page, "1", day(), ReceiptIds::InChangeOrder)
        .unwrap();
    (dir, store)
}

#[test]
fn an_order_is_stored_once_in_the_fact_that_brought_it() {
    let (_dir, store) = a_store_that_received_a_1("once");
    assert_eq!(copies_in_file(&store, ADDRESS), 1, "in the receipt only");
    let state = store.state(aid("A-1")).unwrap();
    assert_eq!(state.assignment.as_ref(), Some(&assignment("A-1", day())));
    // A changed order is a new fact: its copy is the one the visit reads.
    let mut changed = assignment("A-1", day());
    changed.version = 2;
    changed.customer.address = Some("9 Huaihai Road".into());
    store
        .receive_assignment(
            &ChangeKind::Assignment {
                assignment: Box::new(changed.clone()),
            },
            day(),
        )
        .unwrap();
    assert_eq!(copies_in_file(&store, "9 Huaihai Road"), 1);
    assert_eq!(store.state(aid("A-1")).unwrap().assignment, Some(changed));
    assert!(store.verify_projections().unwrap().is_empty());
}

/// The orders `assignments` holds, with their versions.
fn assignment_rows(store: &Store) -> Vec<(String, i64)> {
    rusqlite::Connection::open(store.path())
        .unwrap()
        .prepare("SELECT assignment_id, version FROM assignments ORDER BY assignment_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Order `id` at `version`, issued to another technician, tech-9.
fn issued_to_tech_9(id: &str, version: u64) -> ChangeKind {
    let mut a = assignment(id, day());
    a.version = version;
    a.technician = Some(TechnicianId::new("tech-9").unwrap());
    ChangeKind::Assignment {
        assignment: Box::new(a),
    }
}

#[test]
fn an_order_with_a_visit_is_recorded_by_its_visit_and_another_technicians_is_kept_as_sent() {
    let (_dir, store) = a_store_that_received_a_1("orders-kept");
    assert!(
        assignment_rows(&store).is_empty(),
        "no row beside the visit"
    );
    store
        .receive_assignment(&issued_to_tech_9("B-7", 1), day())
        .unwrap();
    assert_eq!(assignment_rows(&store), [("B-7".to_string(), 1)]);
    assert!(store.state(aid("B-7")).is_err(), "no visit for it");
    // Its later versions are kept as they come; an order with a visit
    // still gets no row.
    store
        .receive_assignment(&issued_to_tech_9("B-7", 2), day())
        .unwrap();
    store
        .receive_assignment(&reassigned_to_tech_9("B-7", 3), day())
        .unwrap();
    store
        .receive_assignment(&reassigned_to_tech_9("A-1", 2), day())
        .unwrap();
    assert_eq!(assignment_rows(&store), [("B-7".to_string(), 3)]);
}

/// A visit just received is stored lean: its projection holds no field at
/// its default (the default is what a missing field reads back as), and
/// reads back as its events replay.
#[test]
fn a_visit_just_received_is_stored_without_its_defaults() {
    let (_dir, store) = a_store_that_received_a_1("lean");
    let c = rusqlite::Connection::open(store.path()).unwrap();
    let stored: String = c
        .query_row("SELECT state_json FROM visits", [], |r| r.get(0))
        .unwrap();
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&stored).unwrap();
    for (name, value) in &fields {
        assert!(
            !is_default_json(value),
            "{name} stored at its default: {stored}"
        );
    }
    assert!(fields.contains_key("stage"), "{stored}");
    assert!(store.verify_projections().unwrap().is_empty());
    assert_eq!(store.state(aid("A-1")).unwrap().stage, Stage::Intake);
}

#[test]
fn a_reassign_or_cancel_after_start_moves_the_orders_technician_and_version_as_a_replay_does() {
    let dir = TempDir::new("moved");
    let store = open(&dir.db());
    run_visit(&store, "A-2", day(), 14); // departed
    store
        .receive_assignment(&reassigned_to_tech_9("A-2", 2), day())
        .unwrap();
    store
        .receive_assignment(
            &ChangeKind::Cancelled {
                assignment_id: aid("A-2"),
                version: 3,
                reason: "customer cancelled".into(),
            },
            day(),
        )
        .unwrap();
    let order = store.state(aid("A-2")).unwrap().assignment.unwrap();
    assert_eq!(order.technician.unwrap().as_str(), "tech-9");
    assert_eq!(order.version, 3);
    assert!(store.verify_projections().unwrap().is_empty());
    assert_eq!(store.rebuild().unwrap().changed, 0);
    assert_eq!(copies_in_file(&store, ADDRESS), 1);
}

#[test]
fn ack_removes_events_from_the_pending_queue_in_order() {
    let dir = TempDir::new("ack");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 6);
    let pending = store.pending_outbox(100).unwrap();
    assert_eq!(pending.len(), 6);
    assert_eq!(store.ack_outbox(pending[2].seq, day()).unwrap(), 3);
    let rest = store.pending_outbox(100).unwrap();
    assert_eq!(rest, pending[3..].to_vec());
    // acknowledging again is harmless
    assert_eq!(store.ack_outbox(pending[2].seq, day()).unwrap(), 0);
    assert_eq!(store.pending_count().unwrap(), 3);
}

#[test]
fn the_outbox_never_gives_a_sequence_twice() {
    let dir = TempDir::new("seq");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 6);
    let last = store.pending_outbox(100).unwrap().last().unwrap().seq;
    store.ack_outbox(last, day()).unwrap();
    // Not even an acknowledged row goes: the next fact would take its
    // sequence, which the server holds for another.
    let c = rusqlite::Connection::open(store.path()).unwrap();
    let err = c
        .execute(&format!("DELETE FROM outbox WHERE seq = {last}"), [])
        .unwrap_err();
    assert!(err.to_string().contains("never given twice"), "{err}");
    run_visit(&store, "A-2", day(), 2);
    let next = store.pending_outbox(100).unwrap();
    assert_eq!(next.first().unwrap().seq, last + 1);
}

#[test]
fn refused_event_is_kept_with_reason_and_leaves_the_queue() {
    let dir = TempDir::new("refuse");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 4);
    let pending = store.pending_outbox(100).unwrap();
    store
        .record_refused(pending[1].seq, "schema: unknown field", day())
        .unwrap();
    let left: Vec<i64> = store
        .pending_outbox(100)
        .unwrap()
        .iter()
        .map(|o| o.seq)
        .collect();
    assert!(!left.contains(&pending[1].seq));
    assert_eq!(left.len(), pending.len() - 1);
    let refused = store.refused().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].event_id, pending[1].event.id);
    assert_eq!(refused[0].reason, "schema: unknown field");
    assert!(
        store.has_event(pending[1].event.id).unwrap(),
        "the event itself stays"
    );
    assert!(matches!(
        store.record_refused(99_999, "x", day()),
        Err(StoreError::UnknownOutboxEntry(99_999))
    ));
}

#[test]
fn view_shows_next_actions_from_the_stored_state() {
    let dir = TempDir::new("view");
    let store = open(&dir.db());
    store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap();
    let v = store.view(aid("A-1"), day()).unwrap();
    assert_eq!(v.stage, Stage::Intake);
    assert!(v.next_actions.iter().any(|a| a.command == "record_triage"));
}

#[test]
fn reopening_with_another_device_is_refused() {
    let dir = TempDir::new("device");
    drop(open(&dir.db()));
    let mut other = enrollment();
    other.device_id = doorstep_core::DeviceId::new("phone-8").unwrap();
    let err = Store::open(dir.db(), &other).err().unwrap();
    assert!(matches!(err, StoreError::DeviceMismatch { .. }), "{err}");
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
}

/// A page of many changes is written together, its JSON made on a second
/// thread beside the writing (`visit_writes`); a change of an order the
/// page already changed (a newer version, a cancel, an erasure) still sees
/// what the earlier one wrote, and the facts keep the page's order.
#[test]
fn a_large_download_page_stores_each_change_as_if_applied_in_turn() {
    let dir = TempDir::new("large-page");
    let store = open(&dir.db());
    let new = |i: i64| issued(&format!("L-{i}"), day() + Duration::minutes(i));
    let mut newer = assignment("L-3", day() + Duration::minutes(3));
    newer.version = 2;
    newer.fault_description = Some("Fridge leaking".into());
    let mut changes: Vec<ChangeKind> = (0..150).map(new).collect();
    changes.push(ChangeKind::Assignment {
        assignment: Box::new(newer),
    });
    changes.push(ChangeKind::Cancelled {
        assignment_id: aid("L-5"),
        version: 2,
        reason: "customer cancelled".into(),
    });
    changes.push(ChangeKind::Erased {
        assignment_id: aid("L-7"),
        version: 2,
    });
    changes.extend((150..220).map(new));
    let page: Vec<AssignmentChange> = changes
        .into_iter()
        .enumerate()
        .map(|(i, change)| AssignmentChange {
            seq: i as u64 + 1,
            change,
        })
        .collect();
    let events = store
        .apply_download_page(
            &page,
            &page.len().to_string(),
            day(),
            ReceiptIds::InChangeOrder,
        )
        .unwrap();

    assert_eq!(store.visit_count().unwrap(), 220);
    assert_eq!(
        events.len(),
        220 + 2,
        "a receipt each, the newer version's, the cancel"
    );
    assert!(
        events.windows(2).all(|w| w[0].hlc < w[1].hlc),
        "in the page's order"
    );
    assert!(store.verify_projections().unwrap().is_empty());
    let updated = store.state(aid("L-3")).unwrap().assignment.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.fault_description.as_deref(), Some("Fridge leaking"));
    assert_eq!(store.history(aid("L-3")).unwrap().len(), 2);
    let cancelled = store.history(aid("L-5")).unwrap();
    assert_eq!(cancelled.len(), 2);
    assert!(matches!(
        cancelled[1].kind,
        EventKind::AssignmentCancelled { .. }
    ));
    assert_eq!(
        store.pending_count().unwrap(),
        1,
        "only the cancel is uploaded"
    );
    let erased = store.state(aid("L-7")).unwrap().assignment.unwrap();
    assert_eq!(erased.customer.phone, None);
    assert_eq!(copies_in_file(&store, "Fridge leaking"), 1);
    assert_eq!(store.rebuild().unwrap().changed, 0);
}
