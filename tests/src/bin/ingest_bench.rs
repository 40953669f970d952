//! Server ingest benchmark: events/s through the push handler's
//! transaction (`domain::ingest::ingest_screened`: dedup, ownership checks,
//! admission, event rows, visit projection with `doorstep-core`, sign-off
//! verification, callbacks) on SQLite and on PostgreSQL, against a bare
//! batched insert of the same rows into a copy of the `events` table (same
//! columns and unique indexes) in a second database of the same backend,
//! opened the same way (each side's commits and checkpoints copy only its
//! own pages). The two alternate batch by batch, so both see the same load
//! on a shared machine (the DESIGN.md budget is a ratio: ≥ 70 % of the bare
//! insert on SQLite).
//!
//! Each batch is screened as the push handler screens it before its
//! transaction (`domain::admission::Screening::of` on the request's JSON as
//! a phone sends it: bounds, no unknown field, each fact's stored text
//! written once), outside the timed transaction as there, and timed on its
//! own: the table gives the ratio both without and with it.
//!
//! On PostgreSQL it also measures DESIGN.md's parallel line: the same load
//! pushed by `--parallel` phones (8) at once against one phone at a time,
//! each on a fresh database (≥ 2 × the single-connection rate).
//!
//! Usage: `ingest-bench [--events N] [--batch B] [--backend sqlite|postgres|both] [--parallel P]`.
//! PostgreSQL comes from `DOORSTEP_BENCH_PG_URL` or `DOORSTEP_TEST_PG_URL`
//! (a database per run is created there). Results go to stdout as a
//! Markdown table row per backend; copy them into docs/PERFORMANCE.md.

use chrono::{Duration, Utc};
use doorstep_core::protocol::{OutboxEvent, PushRequest, PushResponse, PROTOCOL_VERSION};
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::{Assignment, DeviceId, Playbook};
use doorstep_server::app::{AppState, Config};
use doorstep_server::domain::admission::Screening;
use doorstep_server::domain::assignments::{
    assign_tx, insert_assignment, AssignRequest, NewAssignment,
};
use doorstep_server::domain::bounds::EventLimits;
use doorstep_server::domain::ingest::{ingest_screened, PushToApply};
use doorstep_server::domain::roster::{enrol, insert_technician, NewTechnician};
use doorstep_server::http::error::ApiError;
use doorstep_server::store::{Database, Value};
use doorstep_server::time::now_ms;
use std::time::Instant;

/// DESIGN.md: server ingest on SQLite ≥ 70 % of the bare batched insert.
const BUDGET_PERCENT: f64 = 70.0;

/// DESIGN.md: server ingest on PostgreSQL with 8 phones pushing in parallel
/// ≥ 2 × the single-connection ingest rate in the same run.
const PARALLEL_PHONES: usize = 8;
const PARALLEL_BUDGET: f64 = 2.0;

struct Args {
    events: usize,
    batch: usize,
    backends: Vec<&'static str>,
    /// Phones pushing at once in the PostgreSQL parallel scenario (0: not run).
    parallel: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        events: 10_000,
        batch: 500,
        backends: vec!["sqlite", "postgres"],
        parallel: PARALLEL_PHONES,
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let mut v = || it.next().ok_or(format!("{f} needs a value"));
        match f.as_str() {
            "--events" => a.events = v()?.parse().map_err(|_| "--events: a number")?,
            "--batch" => a.batch = v()?.parse().map_err(|_| "--batch: a number")?,
            "--parallel" => a.parallel = v()?.parse().map_err(|_| "--parallel: a number")?,
            "--backend" => {
                a.backends = match v()?.as_str() {
                    "sqlite" => vec!["sqlite"],
                    "postgres" => vec!["postgres"],
                    "both" => vec!["sqlite", "postgres"],
                    other => {
                        return Err(format!(
                            "--backend {other}: expected sqlite, postgres or both"
                        ))
                    }
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// A fresh database for one run.
async fn fresh(backend: &str) -> Result<Option<doorstep_e2e::FreshDatabase>, String> {
    let url = doorstep_e2e::fresh_database(backend).await?;
    if url.is_none() {
        eprintln!("postgres: skipped (set DOORSTEP_BENCH_PG_URL)");
    }
    Ok(url)
}

/// Technicians, devices and assigned assignments, and the events their
/// `phones` phones would upload: completed visits, in outbox order, `n` in
/// total.
async fn prepare(
    state: &AppState,
    n: usize,
    phones: usize,
) -> Result<Vec<(String, Vec<OutboxEvent>)>, ApiError> {
    let trade = "appliance_repair";
    let pb = Playbook::shipped_by_id(trade).ok_or_else(|| ApiError::internal("playbook"))?;
    let st = state.clone();
    let assignments: Vec<(String, Assignment)> = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let mut out = vec![];
                for t in 0..phones {
                    let id = format!("T-{t}");
                    insert_technician(
                        tx,
                        &st,
                        &NewTechnician {
                            id: id.parse().map_err(|_| ApiError::internal("id"))?,
                            name: format!("Bench {t}"),
                            phone: Some(format!("400 820 {t:04}")),
                            trades: vec![trade.parse().map_err(|_| ApiError::internal("id"))?],
                        },
                    )
                    .await?;
                    enrol(tx, &id, &format!("phone-{t}"), false, "bench").await?;
                }
                // ~40 events per visit walked by the book; plenty spare.
                for i in 0..(n / 12 + phones) {
                    let tech = format!("T-{}", i % phones);
                    let start = Utc::now() - Duration::hours(6);
                    let a = insert_assignment(
                        tx,
                        &st,
                        NewAssignment {
                            trade: trade.parse().map_err(|_| ApiError::internal("id"))?,
                            customer: doorstep_core::assignment::Customer {
                                name: Some(format!("Customer {i}")),
                                phone: Some(format!("138 {i:04} 0000")),
                                address: Some(format!("{i} Bench Rd")),
                                location: Some(doorstep_core::location::GeoPoint {
                                    lat: 31.2,
                                    lon: 121.4,
                                }),
                                time_zone: None,
                            },
                            product: doorstep_core::assignment::Product {
                                model: Some("Haier BCD-216".into()),
                                purchase_date: Some(start.date_naive() - Duration::days(400)),
                                warranty: doorstep_core::assignment::Warranty::OutOfWarranty,
                                ..Default::default()
                            },
                            fault_description: Some("bench".into()),
                            requested_window: Some(doorstep_core::TimeWindow {
                                start,
                                end: start + Duration::hours(2),
                            }),
                            received_at: Some(start - Duration::hours(3)),
                            order: vec![],
                            service_items: vec![],
                            notes: None,
                            classification: None,
                        },
                        "bench",
                    )
                    .await?;
                    let id = a.assignment.id.to_string();
                    let req = AssignRequest {
                        technician: tech.parse().map_err(|_| ApiError::internal("id"))?,
                        window_confirmed: Some(true),
                        expected_version: None,
                    };
                    let a = assign_tx(tx, &id, &req, "bench").await?;
                    out.push((tech, a.assignment));
                }
                Ok::<_, ApiError>(out)
            })
        })
        .await?;
    let mut per_device: Vec<(String, Vec<OutboxEvent>, Option<String>)> = (0..phones)
        .map(|t| (format!("phone-{t}"), vec![], None))
        .collect();
    let mut total = 0;
    for (i, (_, a)) in assignments.iter().enumerate() {
        if total >= n {
            break;
        }
        let slot = &mut per_device[i % phones];
        let device = DeviceId::new(slot.0.clone()).map_err(|_| ApiError::internal("id"))?;
        let mut v = Walkthrough::new(&pb, a, &device, Utc::now() - Duration::hours(8));
        v.completed(
            None,
            Ratings {
                quality: 5,
                attitude: 5,
            },
            &mut slot.2,
        );
        for e in v.events {
            if total >= n {
                break;
            }
            let seq = slot.1.len() as u64 + 1;
            slot.1.push(OutboxEvent { seq, event: e });
            total += 1;
        }
    }
    Ok(per_device.into_iter().map(|(d, e, _)| (d, e)).collect())
}

async fn bench(backend: &str, a: &Args) -> Result<(), String> {
    let Some(fresh_db) = fresh(backend).await? else {
        return Ok(());
    };
    let db = Database::open(&fresh_db.url)
        .await
        .map_err(|e| e.to_string())?;
    let state = AppState::new(db, Config::default());
    let devices = prepare(&state, a.events, 4).await.map_err(|e| e.message)?;
    let total: usize = devices.iter().map(|(_, e)| e.len()).sum();
    // The bare baseline: the same rows into a copy of the events table, in
    // a database of its own opened as the server opens its own, so that
    // each side's commits and checkpoints copy only its own pages.
    let Some(bare_file) = fresh(backend).await? else {
        return Ok(());
    };
    let bare_db = Database::open(&bare_file.url)
        .await
        .map_err(|e| e.to_string())?;
    bare_db
        .tx(|tx| {
            Box::pin(async move {
                for sql in [
                    "CREATE TABLE bare_events AS SELECT * FROM events WHERE 1 = 0",
                    "CREATE UNIQUE INDEX bare_events_id ON bare_events (event_id)",
                    "CREATE UNIQUE INDEX bare_events_seq ON bare_events (device_id, seq)",
                ] {
                    tx.execute(sql, &[]).await?;
                }
                Ok::<_, ApiError>(())
            })
        })
        .await
        .map_err(|e| e.message)?;
    // Batches as phones upload them (each one transaction), and after each
    // the bare insert of the same rows, interleaved so that both see the
    // same load on a shared machine.
    let zero = std::time::Duration::ZERO;
    let (mut server, mut bare, mut screen) = (zero, zero, zero);
    for (device, events) in &devices {
        let tech = technician_of(device);
        for chunk in events.chunks(a.batch) {
            let (req, sent) = push_request(device, chunk)?;
            let rows = bare_rows(device, chunk);
            let started = Instant::now();
            let screening = Screening::of(&sent, &req, EventLimits::default());
            screen += started.elapsed();
            let started = Instant::now();
            apply(&state, device, &tech, req, screening).await?;
            server += started.elapsed();
            let started = Instant::now();
            bare_db
                .tx(move |tx| {
                    Box::pin(async move {
                        for r in &rows {
                            tx.execute(
                                "INSERT INTO bare_events (event_id, device_id, seq, visit_id, assignment_id, technician_id,
                                    kind, hlc_millis, hlc_counter, recorded_at, received_at, body)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                                r,
                            )
                            .await?;
                        }
                        Ok::<_, ApiError>(())
                    })
                })
                .await
                .map_err(|e| e.message)?;
            bare += started.elapsed();
        }
    }
    let eps = |d: std::time::Duration| total as f64 / d.as_secs_f64();
    let ratio = 100.0 * eps(server) / eps(bare);
    let verdict = if backend != "sqlite" {
        "(budget on SQLite)"
    } else if ratio >= BUDGET_PERCENT {
        "met"
    } else {
        "missed"
    };
    println!(
        "| {backend} | {total} | {} | {:.0} | {:.0} | {ratio:.0} % | {:.0} % | {verdict} |",
        a.batch,
        eps(server),
        eps(bare),
        100.0 * eps(server + screen) / eps(bare),
    );
    Ok(())
}

/// The technician `prepare` enrolled `device` ("phone-N") for: "T-N".
fn technician_of(device: &str) -> String {
    format!("T-{}", device.trim_start_matches("phone-"))
}

/// One phone's push of `chunk`, and its body as the phone sends it.
fn push_request(device: &str, chunk: &[OutboxEvent]) -> Result<(PushRequest, Vec<u8>), String> {
    let req = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: DeviceId::new(device.to_string()).map_err(|e| e.to_string())?,
        sent_at: Some(Utc::now()),
        events: chunk.to_vec(),
    };
    let sent = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
    Ok((req, sent))
}

/// The push handler's transaction for a screened push; a refused fact
/// fails the run (a bench whose load the rules refuse measures nothing).
async fn apply(
    state: &AppState,
    device: &str,
    technician: &str,
    req: PushRequest,
    screening: Screening,
) -> Result<PushResponse, String> {
    let (st, d, t) = (state.clone(), device.to_string(), technician.to_string());
    let response = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                ingest_screened(
                    tx,
                    &st,
                    PushToApply {
                        device: &d,
                        technician: &t,
                        push: &req,
                        screening: &screening,
                        now: now_ms(),
                    },
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await
        .map_err(|e| e.message)?;
    if let Some(first) = response.refused.first() {
        return Err(format!(
            "{device}: {} facts refused, the first: {}",
            response.refused.len(),
            first.reason
        ));
    }
    Ok(response)
}

/// Pushes one phone's events in batches of `batch`, one after another, as
/// its push handler would: each batch screened, then applied in a
/// transaction of its own. Returns the events applied.
async fn push_phone(
    state: AppState,
    device: String,
    events: Vec<OutboxEvent>,
    batch: usize,
) -> Result<u64, String> {
    let tech = technician_of(&device);
    let mut applied = 0;
    for chunk in events.chunks(batch) {
        let (req, sent) = push_request(&device, chunk)?;
        let screening = Screening::of(&sent, &req, EventLimits::default());
        applied += apply(&state, &device, &tech, req, screening).await?.applied;
    }
    Ok(applied)
}

/// DESIGN.md's PostgreSQL line: the same load (`phones` phones, `events`
/// in all) pushed once by one phone at a time (a single connection busy at
/// once) and once by every phone at the same moment (the pool's
/// connections, per-device locks), each on a fresh database; screening
/// included on both sides, as the handler screens before its transaction.
/// Returns the two rates in events/s.
async fn parallel(backend: &str, a: &Args) -> Result<Option<(f64, f64)>, String> {
    let mut rates = vec![];
    for together in [false, true] {
        let Some(fresh_db) = fresh(backend).await? else {
            return Ok(None);
        };
        let db = Database::open(&fresh_db.url)
            .await
            .map_err(|e| e.to_string())?;
        let state = AppState::new(db, Config::default());
        let devices = prepare(&state, a.events, a.parallel)
            .await
            .map_err(|e| e.message)?;
        let started = Instant::now();
        let mut applied = 0;
        if together {
            let tasks: Vec<_> = devices
                .into_iter()
                .map(|(d, e)| tokio::spawn(push_phone(state.clone(), d, e, a.batch)))
                .collect();
            for t in tasks {
                applied += t.await.map_err(|e| e.to_string())??;
            }
        } else {
            for (d, e) in devices {
                applied += push_phone(state.clone(), d, e, a.batch).await?;
            }
        }
        let took = started.elapsed();
        rates.push(applied as f64 / took.as_secs_f64());
        state.db.close().await.map_err(|e| e.to_string())?;
    }
    Ok(Some((rates[0], rates[1])))
}

/// The event rows as the server stores them (body already serialised).
fn bare_rows(device: &str, chunk: &[OutboxEvent]) -> Vec<Vec<Value>> {
    chunk
        .iter()
        .map(|oe| {
            let e = &oe.event;
            vec![
                e.id.to_string().into(),
                device.into(),
                oe.seq.into(),
                e.visit_id.to_string().into(),
                e.assignment_id.as_str().into(),
                "T-0".into(),
                e.kind.name().into(),
                e.hlc.millis.into(),
                e.hlc.counter.into(),
                e.recorded_at.timestamp_millis().into(),
                now_ms().into(),
                serde_json::to_string(e).unwrap_or_default().into(),
            ]
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ingest-bench: {e}");
            std::process::exit(2);
        }
    };
    println!("| backend | events | batch | server ingest (events/s) | bare batched insert (events/s) | ratio | ratio with the screening | ≥ {BUDGET_PERCENT:.0} % |");
    println!("|---|---|---|---|---|---|---|---|");
    for backend in &a.backends {
        if let Err(e) = bench(backend, &a).await {
            eprintln!("ingest-bench: {backend}: {e}");
            std::process::exit(1);
        }
    }
    if a.parallel == 0 || !a.backends.contains(&"postgres") {
        return;
    }
    println!();
    println!(
        "| backend | events | batch | phones | one phone at a time (events/s) | {} phones at once (events/s) | ratio | ≥ {PARALLEL_BUDGET:.0} × |",
        a.parallel
    );
    println!("|---|---|---|---|---|---|---|---|");
    match parallel("postgres", &a).await {
        Ok(Some((one, all))) => {
            let ratio = all / one;
            let verdict = if ratio >= PARALLEL_BUDGET {
                "met"
            } else {
                "missed"
            };
            println!(
                "| postgres | {} | {} | {} | {one:.0} | {all:.0} | {ratio:.2} × | {verdict} |",
                a.events, a.batch, a.parallel
            );
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("ingest-bench: postgres, {} phones at once: {e}", a.parallel);
            std::process::exit(1);
        }
    }
}
