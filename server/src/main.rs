//! `doorstep-server`: starts the dispatch and sync server.
//!
//! Zero set-up by default: SQLite in `--data-dir` (./doorstep-data) on
//! 127.0.0.1:8080, and an admin created on first run. `--database-url
//! postgres://…` (or `DOORSTEP_DATABASE_URL`) runs on PostgreSQL instead.
//! `--demo` loads the demo data set. `--help` lists every flag and its
//! `DOORSTEP_…` environment variable (clap); the server's own settings are
//! [`Config`]'s fields, each a flag. `--config FILE` reads a TOML file
//! under them: flag > environment > file > default (`ops::config_file`).
//! `backup --to FILE` and `restore --from FILE` copy the SQLite database
//! (`ops::backup`); SIGTERM or Ctrl-C shuts down gracefully
//! (`--shutdown-grace-secs`, `http::serve`). docs/OPERATIONS.md lists every
//! setting.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use doorstep_server::app::{at_least_one, AppState, Config};
use doorstep_server::auth::{new_token, Role};
use doorstep_server::demo;
use doorstep_server::domain::{personal_data, receipts};
use doorstep_server::failure::{Failure, Fallible};
use doorstep_server::http::spawn;
use doorstep_server::ops::backup::{self, DATABASE_FILE};
use doorstep_server::ops::config_file;
use doorstep_server::ops::logging::{self, LogFormat};
use doorstep_server::outbox::spawn_worker;
use doorstep_server::providers::ProviderSettings;
use doorstep_server::store::object_storage::BlobStoreSettings;
use doorstep_server::store::{sqlite, users, Database};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Doorstep dispatch and sync server (上门服务调度与同步服务器).
///
/// Every setting is a flag, an environment variable and a key of the
/// `--config` file; a flag wins over the variable, the variable over the
/// file, the file over the default.
#[derive(Debug, Parser)]
#[command(name = "doorstep-server", version, about, long_about = None)]
struct Args {
    /// TOML file of settings, keyed by their names with underscores (max_page = 500); flag > environment > file > default
    #[arg(
        long = "config",
        value_name = "FILE",
        env = "DOORSTEP_CONFIG",
        global = true
    )]
    config_file: Option<PathBuf>,
    /// Address to listen on, HOST:PORT (port 0: any free port)
    #[arg(long, env = "DOORSTEP_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Directory of the embedded SQLite database
    #[arg(
        long,
        env = "DOORSTEP_DATA_DIR",
        default_value = "./doorstep-data",
        global = true
    )]
    data_dir: String,
    /// Directory of the uploaded photos, one file per SHA-256 (default: <data dir>/blobs)
    #[arg(long, env = "DOORSTEP_BLOB_DIR")]
    blob_dir: Option<String>,
    /// postgres://user@host/db to run on PostgreSQL instead of SQLite
    #[arg(long, env = "DOORSTEP_DATABASE_URL", global = true)]
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
    /// Log lines on standard error: text, or json (one object a line, with the request id)
    #[arg(long, env = "DOORSTEP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Seconds requests in flight get to finish after SIGTERM; connections still open are then cut
    #[arg(long, env = "DOORSTEP_SHUTDOWN_GRACE_SECS", default_value_t = 20, value_parser = at_least_one::<u64>)]
    shutdown_grace_secs: u64,
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    providers: ProviderSettings,
    #[command(flatten)]
    blob_store: BlobStoreSettings,
    #[command(subcommand)]
    command: Option<Operation>,
}

/// What else the binary does besides serving.
#[derive(Debug, Subcommand)]
enum Operation {
    /// Copy the SQLite database of --data-dir into a new FILE while the server runs (PostgreSQL: pg_dump, docs/OPERATIONS.md)
    Backup {
        /// The backup file to create (never overwritten)
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Restore a backup FILE as the database of an empty --data-dir (a backup of a newer schema is refused)
    Restore {
        /// The backup file to restore
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Mask now the customer contact of every order finished more than --contact-retention-days ago (PIPL), as the server's hourly sweep does; works beside a running server
    Retention,
}

/// Parses the command line with the `--config` file's settings as the
/// defaults (flag > environment > file > built-in default).
fn parse_args(argv: Vec<OsString>) -> Result<Args, String> {
    let matches = Args::command()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    let Some(path) = matches.get_one::<PathBuf>("config_file").cloned() else {
        return Args::from_arg_matches(&matches).map_err(|e| e.to_string());
    };
    let table = config_file::read(&path).map_err(|e| e.to_string())?;
    let command = config_file::with_file_defaults(Args::command(), &table, &path)
        .map_err(|e| e.to_string())?;
    let matches = command
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    Args::from_arg_matches(&matches).map_err(|e| e.to_string())
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
    let args = match parse_args(std::env::args_os().collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("doorstep-server: {e}");
            std::process::exit(2);
        }
    };
    logging::init(args.log_format);
    match &args.command {
        Some(Operation::Backup { to }) => std::process::exit(run_backup(&args, to)),
        Some(Operation::Restore { from }) => std::process::exit(run_restore(&args, from)),
        Some(Operation::Retention) => std::process::exit(run_retention_now(&args).await),
        None => run_server(args).await,
    }
}

/// The SQLite file the settings point at: `--database-url` when it is a
/// file path, else `<data dir>/doorstep.db`; `None` for PostgreSQL.
fn sqlite_path(args: &Args) -> Option<PathBuf> {
    match &args.database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => Some(Path::new(&args.data_dir).join(DATABASE_FILE)),
    }
}

const POSTGRES_BACKUP: &str = "on PostgreSQL, back up with pg_dump and restore with pg_restore (docs/OPERATIONS.md, \"Back up\") / 使用 PostgreSQL 时，请用 pg_dump 备份、pg_restore 恢复（见 docs/OPERATIONS.md 的 “Back up” 一节）";

fn run_backup(args: &Args, to: &Path) -> i32 {
    let Some(database) = sqlite_path(args) else {
        eprintln!("doorstep-server backup: {POSTGRES_BACKUP}");
        return 2;
    };
    match backup::backup(&database, to, sqlite::SCHEMA_VERSION) {
        Ok(c) => {
            println!(
                "Backed up {} to {}: schema version {}, {} events, {} bytes.",
                database.display(),
                c.path.display(),
                c.schema_version,
                c.events,
                c.bytes
            );
            0
        }
        Err(e) => {
            eprintln!("doorstep-server backup: {e}");
            1
        }
    }
}

fn run_restore(args: &Args, from: &Path) -> i32 {
    if sqlite_path(args).is_none() {
        eprintln!("doorstep-server restore: {POSTGRES_BACKUP}");
        return 2;
    }
    match backup::restore(from, Path::new(&args.data_dir), sqlite::SCHEMA_VERSION) {
        Ok(c) => {
            println!(
                "Restored {} into {}: schema version {}, {} events. Start the server on --data-dir {}.",
                from.display(),
                c.path.display(),
                c.schema_version,
                c.events,
                args.data_dir
            );
            0
        }
        Err(e) => {
            eprintln!("doorstep-server restore: {e}");
            1
        }
    }
}

/// Waits for SIGTERM (systemd, containers) or Ctrl-C.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// The database the settings point at (`--database-url`, else the SQLite
/// file in `--data-dir`), opened and migrated, and where it is.
async fn open_database(args: &Args) -> Result<(Database, String), String> {
    let url = args.database_url.clone().unwrap_or_else(|| {
        Path::new(&args.data_dir)
            .join(DATABASE_FILE)
            .display()
            .to_string()
    });
    Database::open(&url)
        .await
        .map(|db| (db, url))
        .map_err(|e| format!("cannot open the database: {e}"))
}

/// Where the photos are kept: `--blob-dir`, else `blobs/` in `--data-dir`.
fn blob_dir(args: &Args) -> String {
    args.blob_dir
        .clone()
        .unwrap_or_else(|| format!("{}/blobs", args.data_dir.trim_end_matches('/')))
}

async fn run_retention_now(args: &Args) -> i32 {
    let db = match open_database(args).await {
        Ok((db, _)) => db,
        Err(e) => {
            eprintln!("doorstep-server retention: {e}");
            return 1;
        }
    };
    let state = match AppState::with_blob_store(
        db,
        args.config.clone(),
        blob_dir(args),
        &args.blob_store,
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("doorstep-server retention: {e}");
            return 1;
        }
    };
    match personal_data::run_retention(&state).await {
        Ok(report) => {
            println!(
                "Retention: masked the contact of {} finished orders (finished before {}).",
                report.masked.len(),
                report.cutoff.to_rfc3339()
            );
            0
        }
        Err(e) => {
            eprintln!("doorstep-server retention: {e}");
            1
        }
    }
}

async fn run_server(args: Args) {
    let (db, url) = match open_database(&args).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("doorstep-server: {e}");
            std::process::exit(1);
        }
    };
    let where_ = if db.backend() == "sqlite" {
        url.clone()
    } else {
        "PostgreSQL".into()
    };
    tracing::info!(backend = db.backend(), database = %where_, "database ready");
    let blob_dir = blob_dir(&args);
    let state =
        match AppState::with_blob_store(db, args.config.clone(), &blob_dir, &args.blob_store) {
            Ok(s) => s.with_providers(args.providers.clone()),
            Err(e) => {
                eprintln!("doorstep-server: {e}");
                std::process::exit(1);
            }
        };
    tracing::info!(blobs = %state.blobs.store().place(), uploads = %blob_dir, "blob store ready");
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
    // Receipts of pulls acknowledged before a stop, not derived yet.
    match receipts::settle_left_over(&state).await {
        Ok(d) if d.receipts > 0 => {
            tracing::info!(receipts = d.receipts, "left-over receipts derived")
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("doorstep-server: cannot derive the receipts left held: {e}");
            std::process::exit(1);
        }
    }
    // Notices and webhooks go out from here (the outbox worker).
    let _outbox = spawn_worker(state.clone());
    // PIPL retention: finished orders' customer contact masked after
    // --contact-retention-days, checked at start and hourly.
    personal_data::spawn_retention_timer(state.clone());
    let mut server = match spawn(args.listen, state.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("doorstep-server: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    tracing::info!(addr = %server.addr, "listening (console at /)");
    println!("Doorstep server listening on http://{}/", server.addr);
    tokio::select! {
        _ = &mut server.handle => {
            eprintln!("doorstep-server: the server stopped on its own");
            std::process::exit(1);
        }
        signal = stop_signal() => tracing::info!(signal, "stop requested"),
    }
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let cut = server.shut_down(grace).await;
    // The receipts of the last answers' pulls, derived before closing.
    state.after_answer.idle().await;
    if let Err(e) = state.db.close().await {
        tracing::warn!(error = %e, "closing the database");
    }
    tracing::info!(connections_cut = cut, "stopped");
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

        assert_eq!(fields.len(), 27, "a Config field was added: check it here");
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
            "--receipts-wait-ms=250",
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
            "--contact-retention-days=90",
            "--report-font-dirs=/a:/b",
            "--map-tiles=https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}",
            "--map-tiles-system=gcj02",
            "--map-tiles-subdomains=1234",
            "--map-attribution=高德地图",
            "--device-token-rotate-days=10",
            "--device-token-grace-days=3",
            "--metrics-token=scrape-7f3a",
        ])
        .expect("the flags parse");
        assert_eq!(args.listen, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
        assert_eq!(
            args.config,
            Config {
                max_body_bytes: 1024,
                max_batch_events: 7,
                max_page: 9,
                receipts_wait_ms: 250,
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
                contact_retention_days: 90,
                report_font_dirs: vec!["/a".into(), "/b".into()],
                map_tiles: Some(
                    "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}".into()
                ),
                map_tiles_system: "gcj02".into(),
                map_tiles_subdomains: "1234".into(),
                map_attribution: Some("高德地图".into()),
                device_token_rotate_days: 10,
                device_token_grace_days: 3,
                metrics_token: Some("scrape-7f3a".into()),
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
            ("--contact-retention-days=0", "不小于 1"),
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
    fn every_setting_is_in_the_operations_guide_with_its_flag_variable_and_file_key() {
        let doc = include_str!("../../docs/OPERATIONS.md");
        let table = doc
            .split("<!-- settings")
            .nth(1)
            .and_then(|t| t.split("<!-- /settings -->").next())
            .expect("OPERATIONS.md has the settings table");
        let rows: Vec<&str> = table.lines().filter(|l| l.contains("| `--")).collect();
        let command = Args::command();
        let settings: Vec<&clap::Arg> = command
            .get_arguments()
            .filter(|a| a.get_long().is_some())
            .collect();
        let file_keys = config_file::file_keys(&command);
        for arg in &settings {
            let flag = format!("`--{}`", arg.get_long().unwrap());
            let row = rows
                .iter()
                .find(|r| r.contains(&flag))
                .unwrap_or_else(|| panic!("OPERATIONS.md's settings table lacks {flag}"));
            let env = arg.get_env().expect("every setting has a variable");
            let env = format!("`{}`", env.to_string_lossy());
            assert!(row.contains(&env), "{flag}'s row lacks {env}: {row}");
            let key = arg.get_id().as_str();
            let first_cell = row.split('|').nth(1).unwrap().trim();
            if file_keys.iter().any(|k| k == key) {
                assert_eq!(first_cell, format!("`{key}`"), "{flag}'s file key");
            } else {
                assert_eq!(first_cell, "—", "{flag} is not read from the file");
            }
        }
        assert_eq!(
            rows.len(),
            settings.len(),
            "the table lists a setting --help does not"
        );
    }

    #[test]
    fn a_file_setting_is_under_the_flag_and_over_the_default() {
        if std::env::vars().any(|(k, _)| k.starts_with("DOORSTEP_")) {
            return;
        }
        let path = std::env::temp_dir().join(format!(
            "doorstep-config-{}.toml",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:0\"\nmax_page = 9\nreport_font_dirs = [\"/a\", \"/b\"]\n",
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let argv = |extra: &[&str]| {
            let mut v: Vec<OsString> =
                vec!["doorstep-server".into(), "--config".into(), file.into()];
            v.extend(extra.iter().map(OsString::from));
            v
        };
        let from_file = parse_args(argv(&[])).expect("the file parses");
        assert_eq!(from_file.config.max_page, 9);
        assert_eq!(
            from_file.listen,
            "127.0.0.1:0".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            from_file.config.report_font_dirs,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(
            from_file.config.max_in_flight,
            Config::default().max_in_flight
        );
        let flag = parse_args(argv(&["--max-page=3"])).expect("the flag parses");
        assert_eq!(flag.config.max_page, 3);
        std::fs::remove_file(path).unwrap();
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
