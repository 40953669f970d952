//! `doorstep device …`: the CLI as a technician's phone. A device is a store
//! file plus `<store>.device.json` (identity, server URL and token) and,
//! when it enrolled through the server, `<store>.device-key` (its software
//! device key, ECDSA P-256, which signs every sign-off's evidence; the
//! public half was registered at enrolment, version 2). Commands run
//! offline against the store; `sync`, `qr-pay` and `qr-status` (a QR
//! payment order at the door) talk to the server.

use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use doorstep_core::business_time::BusinessZone;
use doorstep_core::clock::{Clock, SystemClock};
use doorstep_core::device_key::{DeviceKey, SoftwareDeviceKey};
use doorstep_core::discount_approval::SoftwareDiscountKey;
use doorstep_core::location::GeoFix;
use doorstep_core::messages::Lang;
use doorstep_core::protocol::ChangeKind;
use doorstep_core::qr_payment::{QrPaymentOrder, QrPaymentState, QrProvider};
use doorstep_core::script_runner::ScriptLine;
use doorstep_core::store::{Enrollment, Store, StoreError, VisitRef};
use doorstep_core::sync::{
    enrol_device_with_key, enrol_with_code, Enrolled, EnrolmentCode, ReqwestTransport, SyncClient,
    SyncConfig, SyncError,
};
use doorstep_core::workflow::form::{fields_of, FieldKind};
use doorstep_core::workflow::{fill, FormValue};
use doorstep_core::{AssignmentId, DeviceId, TechnicianId, VisitCommand};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Create the device: its store and identity, and where it syncs.
    Enrol {
        #[arg(long)]
        device_id: String,
        #[arg(long)]
        technician_id: String,
        #[arg(long)]
        name: String,
        /// The server's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// The device token the dispatcher's enrolment printed.
        #[arg(long, required_unless_present = "dispatcher")]
        token: Option<String>,
        /// Or enrol through the server now, as this dispatcher (asks the
        /// server for a new device token).
        #[arg(long, requires = "password")]
        dispatcher: Option<String>,
        #[arg(long)]
        password: Option<String>,
    },
    /// Create the device from the center's one-time code (the console's
    /// "new phone" QR code): no staff password needed. The code names the
    /// technician and the device id; the device key registers with it
    /// (enrolment version 2).
    EnrolByCode {
        /// The QR code's text, `doorstep://enrol?server=…&code=…`.
        #[arg(long, conflicts_with_all = ["server", "code"], required_unless_present = "code")]
        link: Option<String>,
        /// Or the server's base URL and the code as typed.
        #[arg(long, requires = "code")]
        server: Option<String>,
        #[arg(long, requires = "server")]
        code: Option<String>,
    },
    /// The visits whose window starts on a day of the business time zone
    /// (the server's, kept since the last sync; default: today there).
    Today {
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Record an assignment from a JSON file (as the center sends it), offline:
    /// for demos and tests without a server.
    Receive { file: PathBuf },
    /// Do one action by its form, with fields as flags:
    /// `do ACTION --assignment A-1 --field value …` (`--amount 168.5`;
    /// repeat a flag per chosen option; a list row as `--quote.lines item=visit_fee,qty=1`).
    /// Missing required fields are asked for when stdin is a terminal.
    #[command(name = "do")]
    Do {
        action: String,
        /// `--assignment ID`, `--at TIME`, then the form's fields.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        fields: Vec<String>,
    },
    /// Apply one command (JSON) to an assignment's visit.
    Apply {
        #[arg(long)]
        assignment: String,
        /// The command as JSON, e.g. '{"type": "log_call", "outcome": "reached"}'.
        command: String,
        /// When it happened (default: now).
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
    /// Apply a visit script's command lines (JSON lines `{"at", "command", "location"?}`)
    /// to an assignment's visit, offline. Header and `receive_assignment` lines are skipped:
    /// on a device, assignments come from the server.
    Run {
        #[arg(long)]
        assignment: String,
        script: PathBuf,
    },
    /// A visit's screen model as JSON.
    View {
        #[arg(long)]
        assignment: String,
    },
    /// Upload the outbox and download the center's changes, once.
    Sync,
    /// Ask the server for a QR payment order of what the visit owes (it
    /// syncs first), then ask after it until the provider's QR link is
    /// there (or `--wait-secs` pass); prints the order.
    QrPay {
        #[arg(long)]
        assignment: String,
        /// `wechat_pay` or `alipay`.
        #[arg(long)]
        provider: String,
        /// How long to wait for the QR link, in seconds (0: print the
        /// server's first answer).
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
    },
    /// A QR payment order as the server holds it now.
    QrStatus {
        #[arg(long)]
        payment: String,
    },
    /// Pending events, last success, last error.
    Status,
}

/// The device's side file next to its store.
#[derive(Debug, Serialize, Deserialize)]
struct DeviceFile {
    device_id: DeviceId,
    technician_id: TechnicianId,
    name: String,
    server: String,
    token: String,
}

fn side_file(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".device.json");
    PathBuf::from(p)
}

/// Where the device's software key is kept, next to its store.
fn key_file(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".device-key");
    PathBuf::from(p)
}

/// Where the discount secret the center issued at enrolment is kept, next
/// to the store (what a phone keeps in its Keystore/Keychain).
fn discount_key_file(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".discount-key");
    PathBuf::from(p)
}

/// Keeps the enrolment's discount secret (readable by the owner only),
/// replacing an earlier enrolment's; with none issued, removes the old one
/// so a stale secret never checks a code.
fn save_discount_secret(db: &Path, secret: Option<&str>) -> Result<(), String> {
    let path = discount_key_file(db);
    match secret {
        Some(secret) => SoftwareDiscountKey::save_hex(&path, secret).map_err(|e| e.to_string()),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("{}: {e}", path.display()))
            }
            _ => Ok(()),
        },
    }
}

fn fail(lang: Lang, what: &str, e: impl std::fmt::Display) -> ExitCode {
    let _ = lang;
    eprintln!("{what}: {e}");
    ExitCode::from(1)
}

fn open(db: &Path) -> Result<(Store, DeviceFile), String> {
    let text = std::fs::read_to_string(side_file(db)).map_err(|e| {
        format!(
            "{} is not an enrolled device ({e}); run `doorstep device --db {} enrol …` first",
            db.display(),
            db.display()
        )
    })?;
    let file: DeviceFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", side_file(db).display()))?;
    let enrollment = Enrollment {
        device_id: file.device_id.clone(),
        technician_id: file.technician_id.clone(),
        technician_name: file.name.clone(),
    };
    let store = Store::open(db, &enrollment).map_err(|e| e.to_string())?;
    let key = key_file(db);
    if key.exists() {
        let key = SoftwareDeviceKey::load_or_create(&key).map_err(|e| e.to_string())?;
        store.set_device_key(std::sync::Arc::new(key));
    }
    let discount = discount_key_file(db);
    if discount.exists() {
        let key = SoftwareDiscountKey::load(&discount).map_err(|e| e.to_string())?;
        store.set_discount_key(std::sync::Arc::new(key));
    }
    Ok((store, file))
}

/// Logs in as a dispatcher and enrols a new device for the technician
/// (enrolment version 2: the device key kept at `key_path`, made now if
/// there is none, registers its public half); returns the device token the
/// server issued.
fn enrol_via_server(
    server: &str,
    user: &str,
    password: &str,
    technician: &str,
    device: &str,
    key_path: &Path,
) -> Result<Enrolled, String> {
    let public_key = device_public_key(key_path)?;
    let technician = TechnicianId::new(technician).map_err(|e| e.to_string())?;
    let device = DeviceId::new(device).map_err(|e| e.to_string())?;
    blocking_runtime()?
        .block_on(enrol_device_with_key(
            &ReqwestTransport::new()?,
            server,
            user,
            password,
            &technician,
            &device,
            Some(&public_key),
            std::time::Duration::from_secs(30),
        ))
        .map_err(|e| format!("[{}] {e}", e.code()))
}

/// The public half of the device key kept at `key_path` (made now if there
/// is none), which enrolment version 2 registers.
fn device_public_key(key_path: &Path) -> Result<Vec<u8>, String> {
    let key = SoftwareDeviceKey::load_or_create(key_path).map_err(|e| e.to_string())?;
    key.public_key().map_err(|e| e.to_string())
}

/// A runtime to run one network call to its end.
fn blocking_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// What enrolment gave beside the token: the discount secret and the
/// server's playbook key (none for a token given by hand).
#[derive(Default)]
struct ServerKeys {
    discount_secret: Option<String>,
    playbook_key: Option<String>,
}

impl ServerKeys {
    fn of(enrolled: &Enrolled) -> Self {
        Self {
            discount_secret: enrolled.discount_secret.clone(),
            playbook_key: enrolled.playbook_key.clone(),
        }
    }
}

/// Creates the device's store (pinning the server's playbook key), its
/// side file and its discount secret from an enrolment.
fn save_enrolment(db: &Path, file: &DeviceFile, keys: &ServerKeys, lang: Lang) -> ExitCode {
    let enrollment = Enrollment {
        device_id: file.device_id.clone(),
        technician_id: file.technician_id.clone(),
        technician_name: file.name.clone(),
    };
    let store = match Store::open(db, &enrollment) {
        Ok(store) => store,
        Err(e) => return fail(lang, "enrol", e),
    };
    if let Some(key) = &keys.playbook_key {
        if let Err(e) = store.trust_playbook_key(key, chrono::Utc::now()) {
            return fail(lang, "enrol", e);
        }
    }
    drop(store);
    let json = serde_json::to_string_pretty(file).unwrap_or_default();
    if let Err(e) = std::fs::write(side_file(db), json) {
        return fail(lang, "enrol", e);
    }
    if let Err(e) = save_discount_secret(db, keys.discount_secret.as_deref()) {
        return fail(lang, "enrol", e);
    }
    println!(
        "enrolled {} for {} at {}",
        file.device_id,
        file.technician_id,
        db.display()
    );
    ExitCode::SUCCESS
}

/// Exchanges the center's one-time code for this device's token, with the
/// device key kept at `key_path` (made now if there is none) registered.
fn enrol_by_code(code: &EnrolmentCode, key_path: &Path) -> Result<Enrolled, String> {
    let public_key = device_public_key(key_path)?;
    blocking_runtime()?
        .block_on(enrol_with_code(
            &ReqwestTransport::new()?,
            code,
            Some(&public_key),
            std::time::Duration::from_secs(30),
        ))
        .map_err(|e| format!("[{}] {e}", e.code()))
}

fn assignment(id: &str) -> Result<VisitRef, String> {
    AssignmentId::new(id)
        .map(VisitRef::Assignment)
        .map_err(|e| e.to_string())
}

fn print_json<T: Serialize>(value: &T) -> ExitCode {
    print_json_in(value, None)
}

/// Prints `value` with every time in it as local time of the business time
/// zone, read in `lang` (`12月1日 10:25` / `2026-12-01 10:25`).
fn print_local<T: Serialize>(value: &T, store: &Store, lang: Lang) -> ExitCode {
    let zone = store.business_zone().unwrap_or_default();
    print_json_in(value, Some((&zone, lang)))
}

fn print_json_in<T: Serialize>(value: &T, local: Option<(&BusinessZone, Lang)>) -> ExitCode {
    let mut doc = match serde_json::to_value(value) {
        Ok(v) => v,
        Err(e) => return fail(Lang::En, "output", e),
    };
    if let Some((zone, lang)) = local {
        zone.localize_json(&mut doc, lang);
    }
    match serde_json::to_string_pretty(&doc) {
        Ok(s) => {
            // A closed pipe (`| head`) is the reader's choice, not an error.
            let _ = writeln!(std::io::stdout(), "{s}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(Lang::En, "output", e),
    }
}

fn refused(e: &StoreError, lang: Lang) -> ExitCode {
    let (code, message) = match e {
        StoreError::Workflow(w) => (w.code(), w.message(lang)),
        other => (other.code(), other.to_string()),
    };
    eprintln!(
        "{}",
        serde_json::json!({"refused": code, "message": message})
    );
    ExitCode::from(1)
}

pub fn run(db: &Path, command: DeviceCommand, lang: Lang) -> ExitCode {
    let clock = SystemClock;
    if let DeviceCommand::Enrol {
        device_id,
        technician_id,
        name,
        server,
        token,
        dispatcher,
        password,
    } = command
    {
        let (token, secrets) = match (token, dispatcher, password) {
            (Some(t), _, _) => (t, ServerKeys::default()),
            (None, Some(user), Some(password)) => {
                let key = key_file(db);
                match enrol_via_server(&server, &user, &password, &technician_id, &device_id, &key)
                {
                    Ok(e) => (e.device_token.clone(), ServerKeys::of(&e)),
                    Err(e) => return fail(lang, "enrol", e),
                }
            }
            _ => {
                return fail(
                    lang,
                    "enrol",
                    "give --token, or --dispatcher and --password",
                )
            }
        };
        let file = match (DeviceId::new(device_id), TechnicianId::new(technician_id)) {
            (Ok(device_id), Ok(technician_id)) => DeviceFile {
                device_id,
                technician_id,
                name,
                server,
                token,
            },
            (Err(e), _) | (_, Err(e)) => return fail(lang, "enrol", e),
        };
        return save_enrolment(db, &file, &secrets, lang);
    }
    if let DeviceCommand::EnrolByCode { link, server, code } = command {
        let code = match (link, server, code) {
            (Some(link), ..) => EnrolmentCode::from_link(&link),
            (None, Some(server_url), Some(code)) => Ok(EnrolmentCode { server_url, code }),
            _ => Err("give --link, or --server and --code".to_string()),
        };
        let enrolled = match code.and_then(|code| enrol_by_code(&code, &key_file(db))) {
            Ok(e) => e,
            Err(e) => return fail(lang, "enrol-by-code", e),
        };
        let secrets = ServerKeys::of(&enrolled);
        let file = DeviceFile {
            device_id: enrolled.device_id,
            technician_id: enrolled.technician_id,
            name: enrolled.technician_name,
            server: enrolled.server_url,
            token: enrolled.device_token,
        };
        return save_enrolment(db, &file, &secrets, lang);
    }
    let (store, file) = match open(db) {
        Ok(x) => x,
        Err(e) => return fail(lang, "open", e),
    };
    match command {
        DeviceCommand::Enrol { .. } | DeviceCommand::EnrolByCode { .. } => ExitCode::SUCCESS,
        DeviceCommand::Today { date } => {
            let zone = match store.business_zone() {
                Ok(z) => z,
                Err(e) => return fail(lang, "today", e),
            };
            let date = date.unwrap_or_else(|| zone.date_of(clock.now()));
            match store.visits_on_business_day(date) {
                Ok(visits) => {
                    let rows: Vec<_> = visits
                        .iter()
                        .map(|v| {
                            serde_json::json!({
                                "assignment": v.assignment_id, "visit": v.visit_id, "trade": v.trade,
                                "stage": v.stage, "outcome": v.outcome,
                                "window": v.window.map(|w| zone.format_window(w.start, w.end, lang)),
                                "conflict": v.conflict, "customer": v.customer_name, "address": v.address,
                            })
                        })
                        .collect();
                    print_json(&rows)
                }
                Err(e) => fail(lang, "today", e),
            }
        }
        DeviceCommand::Receive { file } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => return fail(lang, &file.display().to_string(), e),
            };
            let assignment = match serde_json::from_str(&text) {
                Ok(a) => a,
                Err(e) => return fail(lang, &file.display().to_string(), e),
            };
            let change = ChangeKind::Assignment {
                assignment: Box::new(assignment),
            };
            match store.receive_assignment(&change, clock.now()) {
                Ok(_) => {
                    println!("received {}", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => refused(&e, lang),
            }
        }
        DeviceCommand::Do { action, fields } => do_action(&store, &action, &fields, lang),
        DeviceCommand::Apply {
            assignment: a,
            command,
            at,
        } => {
            let target = match assignment(&a) {
                Ok(t) => t,
                Err(e) => return fail(lang, "--assignment", e),
            };
            let cmd: VisitCommand = match serde_json::from_str(&command) {
                Ok(c) => c,
                Err(e) => return fail(lang, "command", e),
            };
            match store.apply_command(target, &cmd, at.unwrap_or_else(|| clock.now()), None) {
                Ok(events) => print_local(&events, &store, lang),
                Err(e) => refused(&e, lang),
            }
        }
        DeviceCommand::Run {
            assignment: a,
            script,
        } => {
            let target = match assignment(&a) {
                Ok(t) => t,
                Err(e) => return fail(lang, "--assignment", e),
            };
            let text = match std::fs::read_to_string(&script) {
                Ok(t) => t,
                Err(e) => return fail(lang, &script.display().to_string(), e),
            };
            let mut applied = 0usize;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with("//") || line.contains("\"doorstep_script\"")
                {
                    continue;
                }
                let parsed: ScriptLine = match serde_json::from_str(line) {
                    Ok(l) => l,
                    Err(e) => return fail(lang, &format!("line {}", n + 1), e),
                };
                if matches!(parsed.command, VisitCommand::ReceiveAssignment { .. }) {
                    continue;
                }
                let location: Option<GeoFix> = parsed.location;
                match (
                    store.apply_command(target.clone(), &parsed.command, parsed.at, location),
                    parsed.expect,
                ) {
                    (Ok(_), None) => applied += 1,
                    (Err(StoreError::Workflow(w)), Some(code)) if w.code() == code => {}
                    (Ok(_), Some(code)) => {
                        return fail(
                            lang,
                            &format!("line {}", n + 1),
                            format!("expected refusal {code} but it was accepted"),
                        )
                    }
                    (Err(e), _) => {
                        eprintln!("line {}:", n + 1);
                        return refused(&e, lang);
                    }
                }
            }
            println!(
                "applied {applied} commands; {} events wait for sync",
                store.pending_count().unwrap_or(0)
            );
            ExitCode::SUCCESS
        }
        DeviceCommand::View { assignment: a } => {
            let target = match assignment(&a) {
                Ok(t) => t,
                Err(e) => return fail(lang, "--assignment", e),
            };
            match store.view(target, clock.now()) {
                Ok(v) => print_local(&v, &store, lang),
                Err(e) => fail(lang, "view", e),
            }
        }
        DeviceCommand::Sync => {
            let runtime = match blocking_runtime() {
                Ok(r) => r,
                Err(e) => return fail(lang, "sync", e),
            };
            let client = match SyncClient::new(SyncConfig::new(file.server, file.token)) {
                Ok(c) => c,
                Err(e) => return fail(lang, "sync", e),
            };
            match runtime.block_on(client.sync(&store, &clock)) {
                Ok(report) => print_local(&report, &store, lang),
                Err(e) => {
                    eprintln!(
                        "{}",
                        serde_json::json!({"error": e.code(), "message": e.message(lang), "detail": e.to_string()})
                    );
                    ExitCode::from(1)
                }
            }
        }
        DeviceCommand::QrPay {
            assignment: a,
            provider,
            wait_secs,
        } => {
            let Some(provider) = QrProvider::from_code(&provider) else {
                return fail(
                    lang,
                    "qr-pay",
                    format!("--provider {provider:?}: expected wechat_pay or alipay / 应为 wechat_pay 或 alipay"),
                );
            };
            let id = match AssignmentId::new(a) {
                Ok(id) => id,
                Err(e) => return fail(lang, "qr-pay", e),
            };
            with_client(&file, lang, "qr-pay", |runtime, client| {
                runtime.block_on(async {
                    let mut order = client
                        .create_qr_payment(&store, &id, provider, &clock)
                        .await?;
                    let deadline =
                        std::time::Instant::now() + std::time::Duration::from_secs(wait_secs);
                    while order.state == QrPaymentState::Creating
                        && std::time::Instant::now() < deadline
                    {
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        order = client.qr_payment(&order.payment_id, &clock).await?;
                    }
                    Ok(order)
                })
            })
        }
        DeviceCommand::QrStatus { payment } => {
            with_client(&file, lang, "qr-status", |runtime, client| {
                runtime.block_on(client.qr_payment(&payment, &clock))
            })
        }
        DeviceCommand::Status => match store.sync_status() {
            Ok(s) => print_local(
                &serde_json::json!({
                    "pending": s.pending, "refused": s.refused,
                    "last_attempt_at": s.last_attempt_at, "last_success_at": s.last_success_at,
                    "last_error_code": s.last_error_code, "last_error": s.last_error,
                    "consecutive_failures": s.consecutive_failures, "clock_offset_ms": s.clock_offset_ms,
                }),
                &store,
                lang,
            ),
            Err(e) => fail(lang, "status", e),
        },
    }
}

/// Runs `call` with a sync client of the device and prints its order, or
/// the error as JSON.
fn with_client(
    file: &DeviceFile,
    lang: Lang,
    what: &str,
    call: impl FnOnce(&tokio::runtime::Runtime, &SyncClient) -> Result<QrPaymentOrder, SyncError>,
) -> ExitCode {
    let runtime = match blocking_runtime() {
        Ok(r) => r,
        Err(e) => return fail(lang, what, e),
    };
    let client = match SyncClient::new(SyncConfig::new(file.server.clone(), file.token.clone())) {
        Ok(c) => c,
        Err(e) => return fail(lang, what, e),
    };
    match call(&runtime, &client) {
        Ok(order) => print_json(&order),
        Err(e) => {
            eprintln!(
                "{}",
                serde_json::json!({"error": e.code(), "message": e.message(lang), "detail": e.to_string()})
            );
            ExitCode::from(1)
        }
    }
}

/// The flags of `do`: `--name value` or `--name=value`, in order.
fn flags(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = vec![];
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!(
                "{arg:?} is not a flag: give fields as --name value / 字段应写成 --字段名 值"
            ));
        };
        match flag.split_once('=') {
            Some((name, value)) => out.push((name.to_string(), value.to_string())),
            None => match it.next() {
                Some(value) => out.push((flag.to_string(), value.clone())),
                None => return Err(format!("--{flag} has no value / --{flag} 缺少值")),
            },
        }
    }
    Ok(out)
}

/// `doorstep device do ACTION --assignment ID [--at TIME] --field value …`:
/// the action's form filled by `fill`, never command JSON.
fn do_action(store: &Store, action: &str, args: &[String], lang: Lang) -> ExitCode {
    let flags = match flags(args) {
        Ok(f) => f,
        Err(e) => return fail(lang, "do", e),
    };
    let mut assignment_id = None;
    let mut at: Option<DateTime<Utc>> = None;
    let mut given: Vec<(String, String)> = vec![];
    for (name, value) in flags {
        match name.as_str() {
            "assignment" => assignment_id = Some(value),
            "at" => match DateTime::parse_from_rfc3339(&value) {
                Ok(t) => at = Some(t.to_utc()),
                Err(e) => return fail(lang, "--at", e),
            },
            _ => given.push((name, value)),
        }
    }
    let Some(assignment_id) = assignment_id else {
        return fail(
            lang,
            "do",
            "give --assignment ID / 请用 --assignment 指定工单",
        );
    };
    if action == "take_photo" {
        if let Some(i) = given.iter().position(|(n, _)| n == "file") {
            let file = PathBuf::from(given.remove(i).1);
            let moment = given
                .iter()
                .find(|(n, _)| n == "moment")
                .map(|(_, v)| v.clone());
            return take_photo_from_file(store, &assignment_id, moment, &file, at, lang);
        }
    }
    let target = match assignment(&assignment_id) {
        Ok(t) => t,
        Err(e) => return fail(lang, "--assignment", e),
    };
    let state = match store.state(target.clone()) {
        Ok(s) => s,
        Err(e) => return refused(&e, lang),
    };
    let zone = match store.business_zone() {
        Ok(z) => z,
        Err(e) => return refused(&e, lang),
    };
    // The form of the playbook version the visit walks.
    let pb = match store.playbook_of(target.clone()) {
        Ok(pb) => pb,
        Err(e) => return refused(&e, lang),
    };
    let Some(fields) = fields_of(action, &state, &pb) else {
        return fail(
            lang,
            "do",
            format!("{action:?} is not an action a technician does / 不是技师可执行的操作"),
        );
    };
    // A list flag's value is one row: `item=visit_fee,qty=1`.
    let mut rows: std::collections::BTreeMap<String, usize> = Default::default();
    let mut values = vec![];
    for (name, value) in given {
        let is_list = fields
            .iter()
            .any(|f| f.name == name && f.kind == FieldKind::List);
        if is_list {
            let row = rows.entry(name.clone()).or_insert(0);
            for pair in value.split(',') {
                let (item, v) = pair.split_once('=').unwrap_or((pair, ""));
                values.push(FormValue::text(
                    format!("{name}[{row}].{}", item.trim()),
                    v.trim(),
                ));
            }
            *row += 1;
        } else {
            values.push(FormValue::text(name, value));
        }
    }
    let interactive = std::io::stdin().is_terminal();
    loop {
        match fill(action, &values, &state, &pb, &zone) {
            Ok(cmd) => {
                let now = at.unwrap_or_else(|| SystemClock.now());
                return match store.apply_command(target, &cmd, now, None) {
                    Ok(events) => print_local(&events, store, lang),
                    Err(e) => refused(&e, lang),
                };
            }
            Err(e) => {
                let missing: Vec<_> = e.problems.iter().filter(|p| p.missing).collect();
                if !interactive || missing.is_empty() || missing.len() != e.problems.len() {
                    eprintln!(
                        "{}",
                        serde_json::json!({
                            "refused": "invalid_form",
                            "message": e.text().get(lang),
                            "fields": e.problems.iter().map(|p| serde_json::json!({
                                "field": p.field, "message": p.text.get(lang)
                            })).collect::<Vec<_>>(),
                        })
                    );
                    return ExitCode::from(1);
                }
                let stdin = std::io::stdin();
                for p in missing {
                    eprint!("{} > ", p.text.get(lang));
                    let mut line = String::new();
                    if stdin.lock().read_line(&mut line).unwrap_or(0) == 0 {
                        return fail(lang, "do", "no answer / 未输入");
                    }
                    values.push(FormValue::text(p.field.clone(), line.trim()));
                }
            }
        }
    }
}

/// `do take_photo --moment M --file photo.jpg`: the CLI as the phone's
/// camera. The file's bytes are the final photo (a real phone burns the
/// watermark in first); its pixel size comes from its header (`imagesize`,
/// here in the CLI only); the core stores the bytes and records the photo.
fn take_photo_from_file(
    store: &Store,
    assignment_id: &str,
    moment: Option<String>,
    file: &Path,
    at: Option<DateTime<Utc>>,
    lang: Lang,
) -> ExitCode {
    let Some(moment) = moment else {
        return fail(
            lang,
            "--moment",
            "give the photo moment, e.g. --moment nameplate / 请用 --moment 指定拍照节点，例如 --moment nameplate",
        );
    };
    let target = match assignment(assignment_id) {
        Ok(t) => t,
        Err(e) => return fail(lang, "--assignment", e),
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                lang,
                "--file",
                format!("cannot read {}: {e} / 无法读取照片文件", file.display()),
            )
        }
    };
    let size = match imagesize::blob_size(&bytes) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                lang,
                "--file",
                format!(
                    "{} is not a JPEG or PNG photo ({e}) / 不是 JPEG 或 PNG 照片",
                    file.display()
                ),
            )
        }
    };
    let (Ok(width), Ok(height)) = (u32::try_from(size.width), u32::try_from(size.height)) else {
        return fail(lang, "--file", "the photo is too large / 照片尺寸过大");
    };
    let photo = doorstep_core::store::CapturedPhoto {
        moment: &moment,
        bytes: &bytes,
        width,
        height,
    };
    let now = at.unwrap_or_else(|| SystemClock.now());
    match store.store_photo(target, photo, now, None) {
        Ok((_, events)) => print_json(&events),
        Err(e) => refused(&e, lang),
    }
}
