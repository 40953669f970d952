//! Retention: personal data leaves the phone after close + sync + retention.

mod common;

use chrono::Duration;
use common::*;
use doorstep_core::store::Store;
use doorstep_core::workflow::EventKind;
use doorstep_core::{AssignmentId, Stage};

fn aid(s: &str) -> AssignmentId {
    AssignmentId::new(s).unwrap()
}

/// Every stored text of the store's tables (events and projections; the
/// assignments table holds no order).
fn stored_text(store: &Store) -> String {
    let c = rusqlite::Connection::open(store.path()).unwrap();
    let mut out = String::new();
    for sql in [
        "SELECT json FROM visit_events",
        "SELECT state_json FROM visits",
    ] {
        let mut st = c.prepare(sql).unwrap();
        let rows = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
        for r in rows {
            out.push_str(&r.unwrap());
            out.push('\n');
        }
    }
    out
}

fn text_of_visit(store: &Store, id: &str) -> String {
    let h = store.history(aid(id)).unwrap();
    serde_json::to_string(&h).unwrap()
        + &serde_json::to_string(&store.state(aid(id)).unwrap()).unwrap()
}

#[test]
fn closed_and_acknowledged_visits_lose_personal_data_after_retention() {
    let dir = TempDir::new("purge");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 1000);
    let state = store.state(aid("A-1")).unwrap();
    assert_eq!(state.stage, Stage::Closed);
    let closed_at = state.closed_at.unwrap();
    let signed = state.sign_off.clone().unwrap();
    assert!(text_of_visit(&store, "A-1").contains(PHONE));

    let last = store.pending_outbox(10_000).unwrap().last().unwrap().seq;
    store.ack_outbox(last, closed_at).unwrap();

    let retention = Duration::days(7);
    // Not yet: the retention period has not passed.
    let early = store
        .purge_personal_data(closed_at + Duration::days(6), retention)
        .unwrap();
    assert!(early.visits.is_empty());
    assert!(stored_text(&store).contains(PHONE));

    let report = store
        .purge_personal_data(closed_at + Duration::days(8), retention)
        .unwrap();
    assert_eq!(report.visits.len(), 1);
    assert!(report.events_rewritten >= 3, "{report:?}");
    let text = stored_text(&store);
    for secret in [PHONE, ADDRESS, "121.4737", "\"t_ms\""] {
        assert!(!text.contains(secret), "{secret} still stored");
    }
    // Not in free pages or the WAL either (secure_delete + checkpoint).
    let mut raw = std::fs::read(store.path()).unwrap();
    raw.extend(std::fs::read(dir.path().join("store.db-wal")).unwrap_or_default());
    assert!(!raw.windows(PHONE.len()).any(|w| w == PHONE.as_bytes()));
    // History keeps the facts and the digests.
    let after = store.state(aid("A-1")).unwrap();
    assert_eq!(after.stage, Stage::Closed);
    assert_eq!(after.outcome, state.outcome);
    assert_eq!(after.payment, state.payment);
    assert_eq!(after.quote, state.quote);
    let kept = after.sign_off.unwrap();
    assert_eq!(kept.evidence.report_digest, signed.evidence.report_digest);
    assert_eq!(kept.evidence.strokes_digest, signed.evidence.strokes_digest);
    assert_eq!(kept.evidence.signed_at, signed.evidence.signed_at);
    assert_eq!(kept.evidence.location, None);
    assert_eq!(kept.ratings, signed.ratings);
    assert_eq!(
        after.assignment.as_ref().unwrap().customer.name.as_deref(),
        Some("Wang Fang")
    );
    let signoff = store
        .history(aid("A-1"))
        .unwrap()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::CustomerSignedOff {
                strokes, evidence, ..
            } => Some((strokes, evidence)),
            _ => None,
        })
        .unwrap();
    assert!(signoff.0.is_empty());
    assert_eq!(signoff.1.strokes_digest, signed.evidence.strokes_digest);
    // Still a faithful projection, and a second purge does nothing.
    assert!(store.verify_projections().unwrap().is_empty());
    assert!(store
        .purge_personal_data(closed_at + Duration::days(30), retention)
        .unwrap()
        .visits
        .is_empty());
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
}

#[test]
fn unacknowledged_visits_are_never_purged() {
    let dir = TempDir::new("keep");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 1000);
    let closed_at = store.state(aid("A-1")).unwrap().closed_at.unwrap();
    // Everything but the last event acknowledged.
    let pending = store.pending_outbox(10_000).unwrap();
    store
        .ack_outbox(pending[pending.len() - 2].seq, closed_at)
        .unwrap();
    let report = store
        .purge_personal_data(closed_at + Duration::days(365), Duration::days(1))
        .unwrap();
    assert!(report.visits.is_empty());
    assert!(stored_text(&store).contains(PHONE));
}

#[test]
fn only_the_visit_whose_facts_all_reached_the_server_is_purged() {
    let dir = TempDir::new("two");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 1000);
    let first_done = store.pending_outbox(10_000).unwrap().last().unwrap().seq;
    run_visit(&store, "A-2", day(), 1000);
    let closed_at = store.state(aid("A-2")).unwrap().closed_at.unwrap();
    // The server has every fact of A-1 and none of A-2's.
    store.ack_outbox(first_done, closed_at).unwrap();
    let report = store
        .purge_personal_data(closed_at + Duration::days(365), Duration::days(1))
        .unwrap();
    assert_eq!(report.visits.len(), 1);
    assert!(!text_of_visit(&store, "A-1").contains(PHONE));
    assert!(text_of_visit(&store, "A-2").contains(PHONE));
}

#[test]
fn open_visits_are_never_purged_even_when_acknowledged() {
    let dir = TempDir::new("open");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 20);
    let last = store.pending_outbox(10_000).unwrap().last().unwrap().seq;
    store.ack_outbox(last, day()).unwrap();
    let report = store
        .purge_personal_data(day() + Duration::days(365), Duration::days(1))
        .unwrap();
    assert!(report.visits.is_empty());
    assert!(stored_text(&store).contains(PHONE));
}

#[test]
fn pending_events_cannot_be_edited_even_by_hand() {
    let dir = TempDir::new("trigger");
    let store = open(&dir.db());
    run_visit(&store, "A-1", day(), 3);
    let c = rusqlite::Connection::open(store.path()).unwrap();
    let err = c
        .execute("UPDATE visit_events SET json = '{}'", [])
        .unwrap_err();
    assert!(err.to_string().contains("acknowledged"), "{err}");
    let err = c.execute("DELETE FROM visit_events", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}
