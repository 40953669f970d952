//! `doorstep-server`: starts the dispatch and sync server.
//!
//! Zero set-up by default: SQLite in `--data-dir` (./doorstep-data) on
//! 127.0.0.1:8080, and an admin created on first run. `--database-url
//! postgres://…` (or `DOORSTEP_DATABASE_URL`) runs on PostgreSQL instead.
//! `--demo` loads the demo data set. `--help` lists every flag and its
//! `DOORSTEP_…` environment variable (clap); the server's own settings are
//! [`Config`]'s fields, each a flag.

use clap::Parser;
use doorstep_server::app::{AppState, Config};
use doorstep_server::auth::{new_token, Role};
use doorstep_server::demo;
use doorstep_server::failure::{Failure, Fallible};
use doorstep_server::http::spawn;
use doorstep_server::store::{users, Database};
use std::net::SocketAddr;

/// Doorstep dispatch and sync server (上门服务调度与同步服务器).
///
/// Every setting is a flag and an environment variable; a flag wins over
/// the variable, the variable over the default.
#[derive(Debug, Parser)]
#[command(name = "doorstep-server", version, about, long_about = None)]
struct Args {
    /// Address to listen on, HOST:PORT (port 0: any free port)
    #[arg(long, env = "DOORSTEP_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Directory of the embedded SQLite database
    #[arg(long, env = "DOORSTEP_DATA_DIR", default_value = "./doorstep-data")]
    data_dir: String,
    /// Directory of the uploaded photos, one file per SHA-256 (default: <data dir>/blobs)
    #[arg(long, env = "DOORSTEP_BLOB_DIR")]
    blob_dir: Option<String>,
    /// postgres://user@host/db to run on PostgreSQL instead of SQLite
    #[arg(long, env = "DOORSTEP_DATABASE_URL")]
    database_url: Option<String>,
    /// Load the demo data set (dispatchers, technicians, assignments)
    #[arg(long, env = "DOORSTEP_DEMO")]
    demo: bool,
    /// First-run admin name
    #[arg(long, env = "DOORSTEP_ADMIN_USER", default_value = "admin")]
    admin_user: String,
    /// First-run admin password (default: generated and printed once)
    #[arg(long, env = "DOORSTEP_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    #[command(flatten)]
    config: Config,
}

/// A listen address, refused with what would be accepted (en, zh-CN).
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        "expected HOST:PORT such as 127.0.0.1:8080 / 应为 主机:端口，例如 127.0.0.1:8080"
            .to_string()
    })
}

/// Creates the first admin when there are no users. Returns the generated
/// password when one was generated.
async fn ensure_admin(
    state: &AppState,
    user: &str,
    password: Option<String>,
) -> Fallible<Option<String>> {
    let has_users = state
        .db
        .tx(|tx| Box::pin(async move { users::any_user(tx).await }))
        .await?;
    if has_users {
        return Ok(None);
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(|| new_token("pw")[3..23].to_string());
    let phc = state
        .guard
        .passwords
        .hash(password.clone())
        .await
        .map_err(|_| Failure::internal("hashing the admin password"))?;
    let name = user.to_string();
    state
        .db
        .tx(move |tx| {
            Box::pin(async move { users::insert_user(tx, &name, &phc, Role::Admin).await })
        })
        .await?;
    Ok(generated.then_some(password))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let args = Args::parse();
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("{}/doorstep.db", args.data_dir.trim_end_matches('/')));
    let db = match Database::open(&url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("doorstep-server: cannot open the database: {e}");
            std::process::exit(1);
        }
    };
    let where_ = if db.backend() == "sqlite" {
        url.clone()
    } else {
        "PostgreSQL".into()
    };
    tracing::info!(backend = db.backend(), database = %where_, "database ready");
    let blob_dir = args
        .blob_dir
        .clone()
        .unwrap_or_else(|| format!("{}/blobs", args.data_dir.trim_end_matches('/')));
    let state = match AppState::with_blob_dir(db, args.config.clone(), &blob_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("doorstep-server: cannot create the blob directory {blob_dir}: {e}");
            std::process::exit(1);
        }
    };
    match ensure_admin(&state, &args.admin_user, args.admin_password.clone()).await {
        Ok(Some(pw)) => println!(
            "First run: created admin {:?} with password {pw:?} (shown once; set DOORSTEP_ADMIN_PASSWORD to choose it).",
            args.admin_user
        ),
        Ok(None) => {}
        Err(e) => {
            eprintln!("doorstep-server: cannot create the admin: {e}");
            std::process::exit(1);
        }
    }
    if args.demo {
        match demo::load(&state).await {
            Ok(s) if s.already_loaded => tracing::info!("demo data already loaded"),
            Ok(s) => {
                println!(
                    "Demo data: {} assignments, {} visits. Dispatchers {} log in with password {:?}.",
                    s.assignments,
                    s.visits,
                    s.dispatchers.join(", "),
                    demo::DEMO_PASSWORD
                );
                for (device, tech, token) in &s.devices {
                    println!("  device {device} ({tech}) token {token}");
                }
            }
            Err(e) => {
                eprintln!("doorstep-server: cannot load the demo data: {}", e.message);
                std::process::exit(1);
            }
        }
    }
    let server = match spawn(args.listen, state).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("doorstep-server: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    tracing::info!("listening on http://{} (console at /)", server.addr);
    println!("Doorstep server listening on http://{}/", server.addr);
    tokio::select! {
        _ = server.handle => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_names_every_config_field_as_a_flag_and_an_environment_variable() {
        let help = Args::command().render_long_help().to_string();
        let fields = serde_json::to_value(Config::default()).expect("Config serializes");
        let fields = fields.as_object().expect("Config is a struct");
        assert_eq!(fields.len(), 20, "a Config field was added: check it here");
        for field in fields.keys() {
            let flag = format!("--{}", field.replace('_', "-"));
            let env = format!("DOORSTEP_{}", field.to_uppercase());
            assert!(help.contains(&flag), "--help lacks {flag}:\n{help}");
            assert!(help.contains(&env), "--help lacks {env}:\n{help}");
        }
        for flag in [
            "--listen",
            "--data-dir",
            "--blob-dir",
            "--database-url",
            "--demo",
            "--admin-user",
            "--admin-password",
        ] {
            assert!(help.contains(flag), "--help lacks {flag}");
        }
    }

    #[test]
    fn every_config_field_is_settable_by_flag_and_listen_takes_an_equals_sign() {
        let args = Args::try_parse_from([
            "doorstep-server",
            "--listen=127.0.0.1:0",
            "--max-body-bytes=1024",
            "--max-batch-events",
            "7",
            "--max-page=9",
            "--session-hours=3",
            "--signoff-far-m=250.5",
            "--business-time-zone=Europe/Berlin",
            "--monthly-sample-percent=20",
            "--header-timeout-secs=4",
            "--body-timeout-secs=5",
            "--max-connections=6",
            "--max-in-flight=7",
            "--hash-threads=3",
            "--logins-per-account-per-min=8",
            "--logins-per-address-per-min=9",
            "--company-name=安心家电服务",
            "--public-url=https://service.example",
            "--report-link-days=7",
            "--report-font-dirs=/a:/b",
            "--device-token-rotate-days=10",
            "--device-token-grace-days=3",
        ])
        .expect("the flags parse");
        assert_eq!(args.listen, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
        assert_eq!(
            args.config,
            Config {
                max_body_bytes: 1024,
                max_batch_events: 7,
                max_page: 9,
                session_hours: 3,
                signoff_far_m: 250.5,
                header_timeout_secs: 4,
                body_timeout_secs: 5,
                max_connections: 6,
                max_in_flight: 7,
                hash_threads: 3,
                logins_per_account_per_min: 8,
                logins_per_address_per_min: 9,
                business_time_zone: "Europe/Berlin".into(),
                monthly_sample_percent: 20,
                company_name: Some("安心家电服务".into()),
                public_url: Some("https://service.example".into()),
                report_link_days: 7,
                report_font_dirs: vec!["/a".into(), "/b".into()],
                device_token_rotate_days: 10,
                device_token_grace_days: 3,
            }
        );
    }

    #[test]
    fn defaults_are_the_config_defaults() {
        let args = Args::try_parse_from(["doorstep-server"]).expect("no flags parse");
        if std::env::vars().all(|(k, _)| !k.starts_with("DOORSTEP_")) {
            assert_eq!(args.config, Config::default());
            assert_eq!(args.listen, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        }
    }

    #[test]
    fn a_bad_setting_names_the_flag_and_what_is_accepted_in_both_languages() {
        for (flag, accepted) in [
            ("--max-page=0", "不小于 1"),
            ("--session-hours=twelve", "at least 1"),
            ("--max-body-bytes=-5", "不小于 1 的整数"),
            ("--signoff-far-m=-1", "米数"),
            ("--business-time-zone=Mars/Olympus", "IANA 时区名称"),
            ("--monthly-sample-percent=21", "10 到 20"),
            ("--monthly-sample-percent=9", "from 10 to 20"),
            ("--report-link-days=0", "at least 1"),
        ] {
            let err = Args::try_parse_from(["doorstep-server", flag])
                .expect_err("refused")
                .to_string();
            let name = flag.split('=').next().unwrap();
            assert!(err.contains(name), "{err}");
            assert!(err.contains(accepted), "{err}");
            assert!(err.contains("expected"), "{err}");
        }
    }

    #[test]
    fn a_bad_listen_address_names_the_flag_and_what_is_accepted() {
        let err = Args::try_parse_from(["doorstep-server", "--listen=nowhere"])
            .expect_err("refused")
            .to_string();
        assert!(err.contains("--listen"), "{err}");
        assert!(err.contains("HOST:PORT"), "{err}");
        assert!(err.contains("主机:端口"), "{err}");
    }
}
