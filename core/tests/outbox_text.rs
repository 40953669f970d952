//! The outbox sent as stored (`store::outbox_text`): a waiting fact goes to
//! the server as the JSON text its store keeps, byte for byte; a fact an
//! app version of another event text format stored is parsed and written
//! again first, so the server never sees a field this version dropped. The
//! outbox goes in batches, and only the last carries the pull.
#![cfg(feature = "sync")]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{open, run_visit, TempDir};
use doorstep_core::clock::FixedClock;
use doorstep_core::protocol::{PullResponse, PushResponse, RefusalCode, RefusedEvent};
use doorstep_core::sync::{
    HttpRequest, HttpResponse, SyncClient, SyncConfig, Transport, TransportFuture,
};
use doorstep_core::workflow::{VisitEvent, EVENT_TEXT_FORMAT};
use std::io::Read;
use std::sync::{Arc, Mutex};

fn server_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

/// A server that acknowledges every push and keeps each pushed fact's JSON
/// exactly as it arrived, by sequence, and the path of every request. An
/// older one (`exchange: false`) answers an exchange 404.
#[derive(Default)]
struct Recording {
    exchange: bool,
    /// A sequence refused for good (and acknowledged) when it arrives.
    refuse: Option<u64>,
    facts: Mutex<Vec<(u64, String)>>,
    paths: Mutex<Vec<String>>,
}

fn ok(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).unwrap(),
    }
}

impl Transport for Recording {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            let mut bytes = vec![];
            flate2::read::GzDecoder::new(&request.body[..])
                .read_to_end(&mut bytes)
                .map_err(|e| e.to_string())?;
            let path = request.url.rsplit('/').next().unwrap_or("").to_string();
            self.paths.lock().unwrap().push(path.clone());
            if path == "exchange" && !self.exchange {
                return Ok(HttpResponse {
                    status: 404,
                    ..HttpResponse::default()
                });
            }
            if path == "push" || path == "exchange" {
                #[derive(serde::Deserialize)]
                struct Sent<'a> {
                    #[serde(borrow)]
                    events: Vec<SentFact<'a>>,
                }
                #[derive(serde::Deserialize)]
                struct SentFact<'a> {
                    seq: u64,
                    #[serde(borrow)]
                    event: &'a serde_json::value::RawValue,
                }
                let sent: Sent = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
                let last = sent.events.last().map_or(0, |e| e.seq);
                self.facts.lock().unwrap().extend(
                    sent.events
                        .iter()
                        .map(|e| (e.seq, e.event.get().to_string())),
                );
                let refused: Vec<RefusedEvent> = sent
                    .events
                    .iter()
                    .filter(|e| Some(e.seq) == self.refuse)
                    .map(|e| {
                        let fact: serde_json::Value = serde_json::from_str(e.event.get()).unwrap();
                        RefusedEvent {
                            seq: e.seq,
                            event_id: fact["id"].as_str().unwrap().parse().unwrap(),
                            code: RefusalCode::WorkflowRefused,
                            reason: "refused by the scripted server".into(),
                        }
                    })
                    .collect();
                let push = PushResponse {
                    protocol_version: 1,
                    acked_seq: last,
                    applied: (sent.events.len() - refused.len()) as u64,
                    duplicates: 0,
                    refused,
                    server_time: server_time(),
                };
                if path == "exchange" {
                    return Ok(ok(serde_json::json!({ "push": push, "pull": last_page() })));
                }
                return Ok(ok(push));
            }
            Ok(ok(last_page()))
        })
    }
}

/// A pull page with no changes, the last.
fn last_page() -> PullResponse {
    common::empty_last_page(server_time())
}

/// Syncs the store at `db` and returns the facts as the server received them.
fn sync(db: &std::path::Path) -> Vec<(u64, String)> {
    sync_with(db, Recording::default(), |_| {})
        .facts
        .into_inner()
        .unwrap()
}

/// Syncs the store at `db` with `server`, the client configured by `tune`.
fn sync_with(
    db: &std::path::Path,
    server: Recording,
    tune: impl FnOnce(&mut SyncConfig),
) -> Recording {
    let store = open(db);
    let server = Arc::new(server);
    let mut config = SyncConfig::new("http://doorstep.test", "token");
    tune(&mut config);
    let client = SyncClient::with_transport(config, server.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt
        .block_on(client.sync(&store, &FixedClock::new(server_time())))
        .unwrap();
    assert_eq!(report.pending, 0, "{report:?}");
    drop(client);
    Arc::into_inner(server).expect("the sync is over")
}

/// Each waiting fact's stored text, by outbox sequence.
fn stored_texts(db: &std::path::Path) -> Vec<(u64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT o.seq, e.json FROM outbox o JOIN visit_events e ON e.event_id = o.event_id
             WHERE o.status = 'pending' ORDER BY o.seq",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn rewritten_through(db: &std::path::Path) -> (Option<i64>, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT event_text_format, outbox_rewritten_through FROM device WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn a_waiting_fact_is_sent_as_its_stored_text_byte_for_byte() {
    let dir = TempDir::new("outbox-text-as-stored");
    {
        let store = open(&dir.db());
        run_visit(&store, "A-1", server_time() + Duration::hours(2), 12);
    }
    // Opened again by the same app version: nothing is marked.
    let waiting = stored_texts(&dir.db());
    assert!(waiting.len() >= 10, "{} facts waiting", waiting.len());
    let sent = sync(&dir.db());
    assert_eq!(sent, waiting);
    assert_eq!(rewritten_through(&dir.db()), (Some(EVENT_TEXT_FORMAT), 0));
}

#[test]
fn a_fact_an_app_of_another_text_format_stored_is_sent_as_this_version_writes_it() {
    let dir = TempDir::new("outbox-text-older-app");
    {
        let store = open(&dir.db());
        run_visit(&store, "A-1", server_time() + Duration::hours(2), 8);
    }
    // As an app of an older format would have left it: its number, and the
    // last waiting fact spelled with a field this version does not have.
    let before = stored_texts(&dir.db());
    let (last_seq, last_text) = before.last().cloned().unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&last_text).unwrap();
    old["retired_field"] = serde_json::json!("an older app wrote this");
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch("DROP TRIGGER visit_events_edit_after_ack")
            .unwrap();
        conn.execute(
            "UPDATE visit_events SET json = ?1
             WHERE event_id = (SELECT event_id FROM outbox WHERE seq = ?2)",
            rusqlite::params![old.to_string(), last_seq as i64],
        )
        .unwrap();
        conn.execute(
            "UPDATE device SET event_text_format = ?1",
            [EVENT_TEXT_FORMAT - 1],
        )
        .unwrap();
    }
    // This version opens it, and records one more fact before syncing.
    {
        let store = open(&dir.db());
        let (format, through) = rewritten_through(&dir.db());
        assert_eq!(format, Some(EVENT_TEXT_FORMAT));
        assert_eq!(
            through, last_seq as i64,
            "every fact waiting then is marked"
        );
        run_visit(&store, "A-2", server_time() + Duration::hours(4), 1);
    }
    let after = stored_texts(&dir.db());
    let sent = sync(&dir.db());
    assert_eq!(sent.len(), after.len());
    for ((seq, text), (sent_seq, sent_text)) in after.iter().zip(&sent) {
        assert_eq!(seq, sent_seq);
        if *seq == last_seq {
            let typed: VisitEvent = serde_json::from_str(text).unwrap();
            assert_eq!(*sent_text, serde_json::to_string(&typed).unwrap());
            assert!(!sent_text.contains("retired_field"), "{sent_text}");
        } else {
            assert_eq!(sent_text, text, "fact {seq} is sent as stored");
        }
    }
    assert!(
        sent.last().unwrap().0 > last_seq,
        "a fact this version recorded goes too"
    );
}

#[test]
fn the_outbox_goes_in_batches_and_only_the_last_carries_the_pull() {
    let dir = TempDir::new("outbox-batches");
    {
        let store = open(&dir.db());
        run_visit(&store, "A-1", server_time() + Duration::hours(2), 6);
    }
    let waiting = stored_texts(&dir.db());
    assert!(waiting.len() >= 5, "{} facts waiting", waiting.len());
    let server = Recording {
        exchange: true,
        ..Recording::default()
    };
    let server = sync_with(&dir.db(), server, |c| c.push_batch = 2);
    let paths = server.paths.into_inner().unwrap();
    let batches = waiting.len().div_ceil(2);
    let mut expected = vec!["push"; batches - 1];
    expected.push("exchange");
    assert_eq!(paths, expected, "the exchange brought the last page");
    assert_eq!(server.facts.into_inner().unwrap(), waiting);
}

#[test]
fn a_fact_refused_in_a_batch_is_kept_refused_with_its_reason() {
    let dir = TempDir::new("outbox-refused");
    {
        let store = open(&dir.db());
        run_visit(&store, "A-1", server_time() + Duration::hours(2), 6);
    }
    let waiting = stored_texts(&dir.db());
    let server = Recording {
        refuse: Some(waiting[0].0),
        ..Recording::default()
    };
    let server = sync_with(&dir.db(), server, |c| c.push_batch = 2);
    assert_eq!(server.facts.into_inner().unwrap(), waiting);
    let refused = open(&dir.db()).refused().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].seq as u64, waiting[0].0);
    assert!(
        refused[0].reason.contains("refused by the scripted server"),
        "{}",
        refused[0].reason
    );
}

#[test]
fn a_batch_stops_taking_facts_once_their_text_reaches_its_byte_size() {
    let dir = TempDir::new("outbox-bytes");
    {
        let store = open(&dir.db());
        run_visit(&store, "A-1", server_time() + Duration::hours(2), 5);
    }
    let waiting = stored_texts(&dir.db());
    assert!(waiting.len() >= 3, "{} facts waiting", waiting.len());
    let server = Recording {
        exchange: true,
        ..Recording::default()
    };
    // Each fact's text reaches one byte: one fact a batch.
    let server = sync_with(&dir.db(), server, |c| c.push_batch_bytes = 1);
    let mut expected = vec!["push"; waiting.len() - 1];
    expected.push("exchange");
    assert_eq!(server.paths.into_inner().unwrap(), expected);
}
