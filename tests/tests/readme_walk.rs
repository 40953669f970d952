//! The README's phone walk, followed literally against a fresh `--demo`
//! server: its `doorstep device …` commands, in order, with the id the day's
//! list shows for `$A`. It must end with one visit per job (a new phone pulls
//! only open work, never a finished job) and a clean reconciliation.

use chrono::{Duration, Utc};
use doorstep_core::BusinessZone;
use doorstep_e2e::TempDir;
use doorstep_server::app::{AppState, Config};
use doorstep_server::demo;
use doorstep_server::http::spawn;
use doorstep_server::store::Database;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// The `doorstep` binary next to this test's executable, built first.
fn doorstep() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-q", "-p", "doorstep-cli", "--bin", "doorstep"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "building the doorstep CLI");
    });
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("doorstep")
}

/// The README's shell lines that drive the phone (`doorstep device …`) or
/// set `A`, continuation lines joined, comments dropped.
fn readme_walk() -> Vec<String> {
    let readme =
        std::fs::read_to_string(doorstep_e2e::repo_root().join("README.md")).expect("README.md");
    let mut lines = vec![];
    let mut pending = String::new();
    for raw in readme.lines() {
        let line = raw.trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let whole = format!("{pending}{line}");
        pending.clear();
        let command = whole.split(" # ").next().unwrap_or("").trim().to_string();
        if command.starts_with("doorstep device ") || command.starts_with("A=") {
            lines.push(command);
        }
    }
    lines
}

/// Splits a README command into arguments (no quoting is used there).
fn words(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_string).collect()
}

async fn api(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    let res = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walk_on_the_demo_gives_one_visit_per_job_and_a_clean_reconciliation() {
    let dir = TempDir::new("readme-walk");
    let db = Database::open(&dir.0.join("doorstep.db").display().to_string())
        .await
        .unwrap();
    let state = AppState::new(db, Config::default());
    demo::load(&state).await.expect("the demo loads");
    let server = spawn("127.0.0.1:0".parse().unwrap(), state).await.unwrap();
    let base = format!("http://{}", server.addr);

    let walk = readme_walk();
    assert!(walk.len() >= 6, "the README walk: {walk:?}");
    let phone_db = dir.0.join("phone.db");
    let mut a: Option<String> = None;
    for command in &walk {
        if command.starts_with("A=") {
            assert!(a.is_some(), "`today` lists a job before `A=` picks one");
            continue;
        }
        let args: Vec<String> = words(command)
            .into_iter()
            .skip(1) // `doorstep`
            .map(|w| match w.as_str() {
                // The phone's store file, in the test's own directory.
                w if w.ends_with(".db") => phone_db.display().to_string(),
                "http://127.0.0.1:8080" => base.clone(),
                "$A" => a.clone().expect("A is set before it is used"),
                _ => w,
            })
            .collect();
        let out = Command::new(doorstep()).args(&args).output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{command}\n{stdout}{stderr}");
        if args.get(3).map(String::as_str) == Some("today") {
            let list: Vec<Value> = serde_json::from_str(&stdout).unwrap();
            assert!(!list.is_empty(), "the day's list is empty: {stdout}");
            for row in &list {
                assert!(
                    row["outcome"].is_null(),
                    "a finished job came down to the new phone: {row}"
                );
                assert!(
                    row["window"].as_str().is_some_and(|w| !w.contains('T')),
                    "the window is shown as local time: {row}"
                );
            }
            a = Some(list[0]["assignment"].as_str().unwrap().to_string());
        }
    }

    // One visit per job on the server.
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/login"))
        .json(&json!({"username": "li.na", "password": demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let visits = api(&client, &base, token, "/api/visits").await;
    let mut per_job: BTreeMap<String, usize> = BTreeMap::new();
    for v in visits.as_array().unwrap() {
        *per_job
            .entry(v["assignment_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(
        per_job.contains_key(a.as_deref().unwrap()),
        "the walked job has its visit: {per_job:?}"
    );
    assert!(
        per_job.values().all(|n| *n == 1),
        "one visit per job: {per_job:?}"
    );

    // A clean reconciliation on the days the demo's visits closed.
    let zone = BusinessZone::shanghai();
    let now = Utc::now();
    let mut closed = 0;
    for day in [zone.date_of(now), zone.date_of(now - Duration::hours(8))] {
        let report = api(
            &client,
            &base,
            token,
            &format!("/api/reconciliation?date={day}"),
        )
        .await;
        for v in report["visits"].as_array().unwrap() {
            assert!(v["findings"].as_array().unwrap().is_empty(), "{day}: {v}");
        }
        closed += report["closed"].as_u64().unwrap();
    }
    assert!(closed >= 6, "the demo's finished visits were reconciled");
}
