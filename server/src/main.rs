//! `doorstep-server`: starts the dispatch and sync server.
//!
//! Zero set-up by default: SQLite in `--data-dir` (./doorstep-data) on
//! 127.0.0.1:8080, and an admin created on first run. `--database-url
//! postgres://…` (or `DOORSTEP_DATABASE_URL`) runs on PostgreSQL instead.
//! `--demo` loads the demo data set. `--help` lists every flag.

use doorstep_server::auth::{hash_password, Role};
use doorstep_server::center::insert_user;
use doorstep_server::error::ApiError;
use doorstep_server::store::Database;
use doorstep_server::{demo, spawn, AppState, Config};
use std::net::SocketAddr;

const HELP: &str = "doorstep-server: Doorstep dispatch and sync server

USAGE: doorstep-server [FLAGS]

  --listen ADDR            address to listen on (default 127.0.0.1:8080; env DOORSTEP_LISTEN)
  --data-dir DIR           directory of the embedded SQLite database (default ./doorstep-data)
  --database-url URL       postgres://user@host/db to run on PostgreSQL (env DOORSTEP_DATABASE_URL)
  --demo                   load the demo data set (dispatchers, technicians, assignments)
  --admin-user NAME        first-run admin name (default admin; env DOORSTEP_ADMIN_USER)
  --admin-password PASS    first-run admin password (default: generated and printed once;
                           env DOORSTEP_ADMIN_PASSWORD)
  --max-body-bytes N       largest request body after decompression (default 8388608)
  --max-batch-events N     most events in one sync push (default 2000)
  --help                   this text
";

struct Args {
    listen: SocketAddr,
    data_dir: String,
    database_url: Option<String>,
    demo: bool,
    admin_user: String,
    admin_password: Option<String>,
    config: Config,
}

fn parse_args() -> Result<Args, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut a = Args {
        listen: env("DOORSTEP_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| "DOORSTEP_LISTEN: expected HOST:PORT such as 127.0.0.1:8080")?,
        data_dir: "./doorstep-data".into(),
        database_url: env("DOORSTEP_DATABASE_URL"),
        demo: false,
        admin_user: env("DOORSTEP_ADMIN_USER").unwrap_or_else(|| "admin".into()),
        admin_password: env("DOORSTEP_ADMIN_PASSWORD"),
        config: Config::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--listen" => {
                a.listen = value("--listen")?
                    .parse()
                    .map_err(|_| "--listen: expected HOST:PORT such as 127.0.0.1:8080")?
            }
            "--data-dir" => a.data_dir = value("--data-dir")?,
            "--database-url" => a.database_url = Some(value("--database-url")?),
            "--demo" => a.demo = true,
            "--admin-user" => a.admin_user = value("--admin-user")?,
            "--admin-password" => a.admin_password = Some(value("--admin-password")?),
            "--max-body-bytes" => {
                a.config.max_body_bytes = value("--max-body-bytes")?
                    .parse()
                    .map_err(|_| "--max-body-bytes: expected a number of bytes")?
            }
            "--max-batch-events" => {
                a.config.max_batch_events = value("--max-batch-events")?
                    .parse()
                    .map_err(|_| "--max-batch-events: expected a number of events")?
            }
            "--help" | "-h" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other:?}; see --help")),
        }
    }
    Ok(a)
}

/// Creates the first admin when there are no users. Returns the generated
/// password when one was generated.
async fn ensure_admin(
    state: &AppState,
    user: &str,
    password: Option<String>,
) -> Result<Option<String>, ApiError> {
    let has_users = state
        .db
        .tx(|tx| {
            Box::pin(async move {
                Ok::<_, ApiError>(
                    tx.query_opt("SELECT 1 FROM users LIMIT 1", &[])
                        .await?
                        .is_some(),
                )
            })
        })
        .await?;
    if has_users {
        return Ok(None);
    }
    let generated = password.is_none();
    let password =
        password.unwrap_or_else(|| doorstep_server::auth::new_token("pw")[3..23].to_string());
    let pw = password.clone();
    let phc = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|_| ApiError::internal("hashing the admin password"))?;
    let name = user.to_string();
    state
        .db
        .tx(move |tx| Box::pin(async move { insert_user(tx, &name, &phc, Role::Admin).await }))
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
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("doorstep-server: {e}");
            std::process::exit(2);
        }
    };
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
    let state = AppState::new(db, args.config.clone());
    match ensure_admin(&state, &args.admin_user, args.admin_password.clone()).await {
        Ok(Some(pw)) => println!(
            "First run: created admin {:?} with password {pw:?} (shown once; set DOORSTEP_ADMIN_PASSWORD to choose it).",
            args.admin_user
        ),
        Ok(None) => {}
        Err(e) => {
            eprintln!("doorstep-server: cannot create the admin: {}", e.message);
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
