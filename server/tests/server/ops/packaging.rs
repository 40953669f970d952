//! Configuration and packaging (issue 17, item 4): the one precedence rule
//! (flag > environment > file > default) seen from outside the process,
//! a bad file refused, and the server started with the systemd unit's
//! `ExecStart` command line and the Containerfile's `ENTRYPOINT` + `CMD`
//! (no base image can be pulled here: the files are parsed and their
//! arguments run).

use super::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> String {
    let path = crate::harness::crate_dir().join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Starts the binary with `args` and `envs`, waits until it answers, and
/// stops it.
async fn start_and_stop(args: &[String], envs: &[(String, String)], log: &Path) -> Vec<String> {
    let mut server = ServerBinary::start_exact(BIN, args, envs, log).await;
    let http = reqwest::Client::new();
    let (st, _, body) = call(
        &http,
        reqwest::Method::GET,
        &format!("{}/readyz", server.base),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (status, _) = server.terminate(std::time::Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    server.logs().lines().map(str::to_string).collect()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_comes_from_the_flag_then_the_environment_then_the_file_then_the_default() {
    let scratch = Scratch::new("precedence");
    let (from_file, from_env, from_flag) = (
        scratch.path("file-dir"),
        scratch.path("env-dir"),
        scratch.path("flag-dir"),
    );
    let config = scratch.path("doorstep.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nadmin_password = \"{ADMIN_PASSWORD}\"\n",
            from_file.display()
        ),
    )
    .unwrap();
    let base = strings(&["--config", config.to_str().unwrap()]);
    let log = scratch.path("server.log");
    let env = vec![(
        "DOORSTEP_DATA_DIR".to_string(),
        from_env.display().to_string(),
    )];
    let db = |dir: &PathBuf| dir.join("doorstep.db").exists();

    start_and_stop(&base, &[], &log).await;
    assert!(db(&from_file), "the file's data_dir over the default");

    start_and_stop(&base, &env, &log).await;
    assert!(db(&from_env), "the environment over the file");

    let mut with_flag = base.clone();
    with_flag.extend(strings(&["--data-dir", from_flag.to_str().unwrap()]));
    start_and_stop(&with_flag, &env, &log).await;
    assert!(db(&from_flag), "the flag over the environment");
}

#[test]
fn a_configuration_file_with_an_unknown_key_or_a_bad_value_is_refused_naming_it() {
    let scratch = Scratch::new("bad-config");
    let config = scratch.path("doorstep.toml");
    std::fs::write(&config, "max_pages = 10\n").unwrap();
    let out = run(&["--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown setting `max_pages`"), "{stderr}");
    assert!(
        stderr.contains("max_page"),
        "the accepted keys are listed: {stderr}"
    );
    assert!(stderr.contains("未知的设置项"), "{stderr}");

    std::fs::write(&config, "max_page = 0\n").unwrap();
    let out = run(&["--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`max_page = 0`"), "{stderr}");
    assert!(stderr.contains("at least 1"), "{stderr}");
}

/// `KEY=VALUE` words of a unit's `Environment=` line.
fn unit_environment(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .flat_map(|l| l.split_whitespace())
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_starts_with_the_systemd_units_command_line() {
    let unit = repo_file("packaging/doorstep-server.service");
    let exec: Vec<&str> = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line")
        .split_whitespace()
        .collect();
    assert_eq!(exec[0], "/usr/local/bin/doorstep-server");
    assert!(unit.contains("KillSignal=SIGTERM"));
    assert!(unit.contains("ReadWritePaths=/var/lib/doorstep"));
    let scratch = Scratch::new("unit");
    let state_dir = scratch.path("var-lib-doorstep");
    let config = scratch.path("doorstep.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\n").unwrap();
    // The unit's paths, moved under a scratch directory.
    let args: Vec<String> = exec[1..]
        .iter()
        .map(|a| match *a {
            "/etc/doorstep/doorstep.toml" => config.display().to_string(),
            "/var/lib/doorstep" => state_dir.display().to_string(),
            other => other.to_string(),
        })
        .collect();
    let program = BIN.to_string();
    let env = unit_environment(&unit);
    assert!(env.iter().any(|(k, _)| k == "RUST_LOG"));
    let mut server = ServerBinary::start_exact(&program, &args, &env, &scratch.path("log")).await;
    let (st, _, _) = call(
        &reqwest::Client::new(),
        reqwest::Method::GET,
        &format!("{}/readyz", server.base),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        state_dir.join("doorstep.db").exists(),
        "the state directory holds the database"
    );
    let (status, _) = server.terminate(std::time::Duration::from_secs(30));
    assert!(status.success());
    for line in server.logs().lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("the unit logs JSON ({e}): {line}"));
    }
}

/// The JSON array after `instruction` in a Containerfile.
fn exec_form(file: &str, instruction: &str) -> Vec<String> {
    let line = file
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("a {instruction} line"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{instruction} in exec form: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_starts_with_the_containers_entrypoint_and_cmd_on_its_volume() {
    let file = repo_file("packaging/Containerfile");
    let entrypoint = exec_form(&file, "ENTRYPOINT");
    let cmd = exec_form(&file, "CMD");
    let volume = exec_form(&file, "VOLUME");
    assert_eq!(volume.len(), 1);
    let data_dir_at = cmd
        .iter()
        .position(|a| a == "--data-dir")
        .expect("CMD sets --data-dir");
    assert_eq!(
        cmd[data_dir_at + 1],
        volume[0],
        "the data directory is the volume"
    );
    assert!(file.contains("STOPSIGNAL SIGTERM"));
    let env: Vec<(String, String)> = file
        .lines()
        .filter_map(|l| l.strip_prefix("ENV "))
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("ENV KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect();
    let listen = env
        .iter()
        .find(|(k, _)| k == "DOORSTEP_LISTEN")
        .expect("the image sets DOORSTEP_LISTEN");
    assert_eq!(listen.1, "0.0.0.0:8080");
    let scratch = Scratch::new("container");
    let volume_dir = scratch.path("volume");
    // The image's environment, but on loopback and any free port here.
    let env: Vec<(String, String)> = env
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "DOORSTEP_LISTEN" => (k, "127.0.0.1:0".to_string()),
            _ => (k, v),
        })
        .collect();
    assert_eq!(entrypoint, ["/usr/local/bin/doorstep-server"]);
    let args: Vec<String> = cmd
        .iter()
        .map(|a| {
            if *a == volume[0] {
                volume_dir.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let lines = start_and_stop(&args, &env, &scratch.path("log")).await;
    assert!(
        volume_dir.join("doorstep.db").exists(),
        "the database is on the volume"
    );
    assert!(
        volume_dir.join("blobs").is_dir(),
        "the photos are on the volume"
    );
    assert!(!lines.is_empty());
    for line in lines {
        serde_json::from_str::<Value>(&line)
            .unwrap_or_else(|e| panic!("the container logs JSON ({e}): {line}"));
    }
}
