//! docs/OPERATIONS.md's commands, run: every ```` ```sh operations-test ````
//! block in order, in one `sh -eu`, with the page's variables pointing into
//! a scratch directory and a free loopback port; the PostgreSQL blocks
//! against the test cluster (`--ignored`, like every PostgreSQL test).

use super::support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The bodies of the fenced blocks whose info string is exactly `tag`.
fn blocks(doc: &str, tag: &str) -> Vec<String> {
    let mut out = vec![];
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim_start().strip_prefix("```") == Some(tag) => {
                current = Some(String::new());
            }
            Some(body) if line.trim_start() == "```" => {
                out.push(std::mem::take(body));
                current = None;
            }
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

fn doc() -> String {
    std::fs::read_to_string(crate::harness::crate_dir().join("../docs/OPERATIONS.md"))
        .expect("docs/OPERATIONS.md")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `script` with `sh -eu` and `envs`, at most `bound`; panics with its
/// output when it fails. Kills the server it left running (its pid file).
fn run_script(script: &str, envs: &[(&str, String)], pid_file: Option<&str>, bound: Duration) {
    let mut cmd = command("sh");
    cmd.args(["-eu", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sh");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    if let Some(pid) = pid_file.and_then(|p| std::fs::read_to_string(p).ok()) {
        let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
    }
    let report = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the OPERATIONS.md commands failed ({s}):\n{report}"),
        None => panic!("the OPERATIONS.md commands took over {bound:?}:\n{report}"),
    }
}

#[test]
fn every_operations_test_command_of_the_operations_guide_runs() {
    let doc = doc();
    let scripts = blocks(&doc, "sh operations-test");
    assert!(scripts.len() >= 8, "found {} blocks", scripts.len());
    for section in [
        "## Install",
        "## Configure",
        "## Monitor",
        "## Back up",
        "## Restore",
        "## Upgrade",
        "## Rotate logs",
        "## Answer a PIPL request",
    ] {
        assert!(doc.contains(section), "OPERATIONS.md lacks {section}");
    }
    let scratch = Scratch::new("operations-doc");
    let dir = |name: &str| scratch.path(name).display().to_string();
    let pid_file = format!("{}/doorstep.pid", dir("run"));
    let envs = [
        ("DOORSTEP_BIN", BIN.to_string()),
        ("PREFIX", dir("prefix")),
        ("CONFIG_DIR", dir("etc")),
        ("DATA_DIR", dir("data")),
        ("BACKUP_DIR", dir("backups")),
        ("LOG_DIR", dir("log")),
        ("RUN_DIR", dir("run")),
        ("PORT", free_port().to_string()),
    ];
    run_script(
        &scripts.concat(),
        &envs,
        Some(&pid_file),
        Duration::from_secs(240),
    );
    // What the commands did: a backup, a restored database, a rotated log.
    let backups: Vec<_> = std::fs::read_dir(scratch.path("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        backups
            .iter()
            .any(|n| n.starts_with("doorstep-") && n.ends_with(".db")),
        "{backups:?}"
    );
    assert!(
        backups.iter().any(|n| n.starts_with("before-upgrade-")),
        "{backups:?}"
    );
    assert!(scratch
        .path("data.before-restore")
        .join("doorstep.db")
        .exists());
    assert!(scratch.path("data").join("doorstep.db").exists());
    assert!(scratch.path("log").join("doorstep.log.1.gz").exists());
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test-all runs these with DOORSTEP_TEST_PG_URL and -- --ignored"]
fn every_postgresql_command_of_the_operations_guide_runs() {
    crate::harness::require_postgres();
    let url = std::env::var("DOORSTEP_TEST_PG_URL").unwrap();
    let scripts = blocks(&doc(), "sh operations-test-postgres");
    assert_eq!(scripts.len(), 2, "a backup block and a restore block");
    // A database the server created and filled, to dump and restore.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let source = rt.block_on(async {
        let source = crate::harness::Srv::start(crate::harness::Backend::Postgres).await;
        source.technician("T-pg", &["appliance_repair"]).await;
        source.assignment("appliance_repair", Some("T-pg")).await;
        source.url.clone()
    });
    let (prefix, _) = url.rsplit_once('/').unwrap();
    let restore_name = format!("r_{}", uuid::Uuid::now_v7().simple());
    let scratch = Scratch::new("operations-doc-pg");
    let envs = [
        ("DATABASE_URL", source.clone()),
        ("BACKUP_DIR", scratch.path("backups").display().to_string()),
        ("RESTORE_DATABASE", restore_name.clone()),
        ("RESTORE_DATABASE_URL", format!("{prefix}/{restore_name}")),
    ];
    std::fs::create_dir_all(scratch.path("backups")).unwrap();
    run_script(&scripts.concat(), &envs, None, Duration::from_secs(120));
    // The restored database serves, with its change sequence moved on.
    rt.block_on(async {
        let db = doorstep_server::store::Database::open(&format!("{prefix}/{restore_name}"))
            .await
            .expect("the restored database opens");
        let schema = db.readiness().await.unwrap();
        assert!(schema.is_current(), "{schema:?}");
        let next: i64 = db
            .tx(|tx| {
                Box::pin(async move {
                    let r = tx
                        .query_opt(
                            "SELECT nextval(pg_get_serial_sequence('assignment_changes', 'seq'))",
                            &[],
                        )
                        .await?;
                    Ok::<_, doorstep_server::store::DbError>(r.map_or(0, |r| r.int(0)))
                })
            })
            .await
            .unwrap();
        assert!(next > doorstep_server::ops::backup::SEQUENCE_JUMP, "{next}");
    });
}
