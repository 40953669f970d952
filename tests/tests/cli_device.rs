//! The `doorstep` CLI as a technician's phone against a real server: enrol,
//! sync the day's work down, run a visit offline, sync it up.

use chrono::{Duration, Utc};
use doorstep_e2e::{appliance_visit, Center, TempDir};
use std::path::PathBuf;
use std::process::Command;

/// The `doorstep` binary next to this test's executable, (re)built first:
/// `cargo test -p doorstep-e2e` alone does not build another package's binary.
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

fn run(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(doorstep())
        .arg("device")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_device_enrols_syncs_works_offline_and_syncs_again() {
    let center = Center::start().await;
    let (device, token) = center.technician("T-1").await;
    let start = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    let a = center.assignment("T-1", start).await;
    let dir = TempDir::new("cli");
    let db = dir.0.join("phone.db");
    let (code, out, err) = run(
        &db,
        &[
            "enrol",
            "--device-id",
            &device,
            "--technician-id",
            "T-1",
            "--name",
            "王师傅",
            "--server",
            &center.base,
            "--token",
            &token,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&db, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["changes"], 1);
    // The day in the business time zone (Asia/Shanghai, sent with the pull).
    let day = doorstep_core::BusinessZone::shanghai()
        .date_of(start)
        .to_string();
    let (code, out, _) = run(&db, &["today", "--date", &day]);
    assert_eq!(code, 0);
    assert!(out.contains(a.as_str()), "{out}");
    // The visit, offline, as a script.
    let script: String = appliance_visit(start)
        .into_iter()
        .map(|(at, cmd)| serde_json::json!({"at": at, "command": cmd}).to_string() + "\n")
        .collect();
    let file = dir.0.join("visit.jsonl");
    std::fs::write(&file, script).unwrap();
    let (code, out, err) = run(
        &db,
        &["run", "--assignment", a.as_str(), file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    // A refused command says why, in Chinese by default.
    let (code, _, err) = run(
        &db,
        &[
            "apply",
            "--assignment",
            a.as_str(),
            r#"{"type": "depart", "travel_minutes": 5}"#,
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("visit_closed") && err.contains("服务"),
        "{err}"
    );
    let (code, out, err) = run(&db, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&db, &["status"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["pending"], 0);
    assert!(status["last_success_at"].is_string());
    let stored = center.stored_event_ids(&device).await;
    assert!(stored.len() >= 30, "{}", stored.len());
    // A second phone enrols itself through the server with a dispatcher's login.
    let other = dir.0.join("second.db");
    let (code, out, err) = run(
        &other,
        &[
            "enrol",
            "--device-id",
            "phone-T-1-b",
            "--technician-id",
            "T-1",
            "--name",
            "王师傅",
            "--server",
            &center.base,
            "--dispatcher",
            "desk",
            "--password",
            doorstep_e2e::PASSWORD,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&other, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(
        &dir.0.join("third.db"),
        &[
            "enrol",
            "--device-id",
            "phone-x",
            "--technician-id",
            "T-1",
            "--name",
            "x",
            "--server",
            &center.base,
            "--dispatcher",
            "desk",
            "--password",
            "wrong",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("/api/login"), "{err}");
    // Not enrolled: a clear error.
    let (code, _, err) = run(&dir.0.join("other.db"), &["status"]);
    assert_eq!(code, 1);
    assert!(err.contains("not an enrolled device"), "{err}");
}
