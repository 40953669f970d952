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

both_backends!(every_demo_visit_is_one_the_workflow_accepts);

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
