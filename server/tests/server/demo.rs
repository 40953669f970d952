//! The demo data set (`--demo`) holds only visits the workflow accepts:
//! every stored visit's events, replayed fact by fact, are what the core's
//! workflow decides from the state before each (`history_check`).

use crate::both_backends;
use crate::harness::{Backend, Srv};
use doorstep_core::history_check::check_history;
use doorstep_core::walkthrough::CONSENT_TEXT;
use doorstep_core::{EventKind, Playbook, VisitEvent};
use doorstep_server::demo;
use doorstep_server::http::error::ApiError;
use std::collections::BTreeMap;

both_backends!(
    every_demo_visit_is_one_the_workflow_accepts,
    every_row_the_desk_reads_names_its_technician,
);

/// Every stored event, grouped by visit, in the order the server replays them.
async fn stored_visits(s: &Srv) -> BTreeMap<String, Vec<VisitEvent>> {
    let rows = s
        .state
        .db
        .tx(|tx| {
            Box::pin(async move {
                let rows = tx
                    .query(
                        "SELECT visit_id, body FROM events ORDER BY visit_id, hlc_millis, hlc_counter, seq",
                        &[],
                    )
                    .await?;
                Ok::<_, ApiError>(rows.iter().map(|r| (r.text(0), r.text(1))).collect::<Vec<_>>())
            })
        })
        .await
        .unwrap();
    let mut visits: BTreeMap<String, Vec<VisitEvent>> = BTreeMap::new();
    for (visit, body) in rows {
        let event: VisitEvent = serde_json::from_str(&body).expect("a stored event");
        visits.entry(visit).or_default().push(event);
    }
    visits
}

async fn every_demo_visit_is_one_the_workflow_accepts(b: Backend) {
    let s = Srv::start(b).await;
    let summary = demo::load(&s.state).await.unwrap();
    assert_eq!(summary.dispatchers, vec!["li.na", "zhang.wei"]);
    assert_eq!((summary.assignments, summary.visits), (12, 7));
    let visits = stored_visits(&s).await;
    assert_eq!(visits.len(), summary.visits, "{:?}", visits.keys());
    let mut closed = 0;
    for (visit, events) in &visits {
        let EventKind::AssignmentReceived { assignment, .. } = &events[0].kind else {
            panic!("visit {visit} does not start with its assignment");
        };
        let pb = Playbook::shipped_by_id(assignment.trade.as_str()).unwrap();
        check_history(&pb, events, &[CONSENT_TEXT])
            .unwrap_or_else(|e| panic!("demo visit {visit} ({}): {e}", pb.id));
        closed += events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Left { .. }))
            .count();
    }
    assert_eq!(closed, 6, "six visits done today, one on site");
    // The visit on site when the customer cancelled is the console's conflict.
    let (_, conflicts) = s.get("/api/conflicts", &s.dispatcher).await;
    assert_eq!(conflicts.as_array().unwrap().len(), 1, "{conflicts}");
    // Loading twice does nothing.
    assert!(demo::load(&s.state).await.unwrap().already_loaded);
}

/// The console shows people, not ids: every row of the desk's lists that
/// carries a technician id carries the roster's name beside it.
async fn every_row_the_desk_reads_names_its_technician(b: Backend) {
    let s = Srv::start(b).await;
    demo::load(&s.state).await.unwrap();
    let (_, roster) = s.get("/api/technicians", &s.dispatcher).await;
    let names: BTreeMap<String, String> = roster
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().into(),
                t["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let named = |row: &serde_json::Value, id_field: &str, what: &str| {
        let id = row[id_field]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no {id_field} in {row}"));
        assert_eq!(row["technician_name"], names[id].as_str(), "{what}: {row}");
    };

    let (st, list) = s.get("/api/assignments", &s.dispatcher).await;
    assert_eq!(st, 200, "{list}");
    let mut assigned = 0;
    for a in list.as_array().unwrap() {
        if a["technician"].is_null() {
            assert!(
                a["technician_name"].is_null(),
                "nobody assigned, nobody named: {a}"
            );
        } else {
            named(a, "technician", "assignment");
            assigned += 1;
        }
    }
    assert!(assigned >= 8, "{list}");

    let (st, visits) = s.get("/api/visits", &s.dispatcher).await;
    assert_eq!(st, 200, "{visits}");
    let visits = visits.as_array().unwrap();
    assert_eq!(visits.len(), 7);
    for v in visits {
        named(v, "technician_id", "visit");
    }
    let id = visits[0]["visit_id"].as_str().unwrap();
    let (st, detail) = s.get(&format!("/api/visits/{id}"), &s.dispatcher).await;
    assert_eq!(st, 200, "{detail}");
    named(&detail["visit"], "technician_id", "visit detail");

    let (_, conflicts) = s.get("/api/conflicts", &s.dispatcher).await;
    for v in conflicts.as_array().unwrap() {
        named(v, "technician_id", "conflict");
    }

    let closed = visits.iter().find(|v| !v["closed_at"].is_null()).unwrap();
    let at: chrono::DateTime<chrono::Utc> = closed["closed_at"].as_str().unwrap().parse().unwrap();
    let day = s.state.zone.date_of(at);
    let (st, recon) = s
        .get(&format!("/api/reconciliation?date={day}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{recon}");
    assert!(!recon["visits"].as_array().unwrap().is_empty(), "{recon}");
    for v in recon["visits"].as_array().unwrap() {
        named(v, "technician_id", "reconciled visit");
    }

    let (st, found) = s.get("/api/search?q=A-", &s.dispatcher).await;
    assert_eq!(st, 200, "{found}");
    for a in found.as_array().unwrap() {
        for v in a["visits"].as_array().unwrap() {
            named(v, "technician_id", "found visit");
        }
        if !a["technician"].is_null() {
            named(a, "technician", "found assignment");
        }
    }
}
