//! What every request runs with: the server's settings ([`Config`], each
//! one a command-line flag and a `DOORSTEP_…` environment variable) and the
//! shared state ([`AppState`]: database, settings and the [`Guard`] of
//! abuse defences, the metrics; a trade's playbook is the core's shipped
//! one, [`AppState::playbook`]).

use crate::ops::metrics::Metrics;
use crate::passwords::PasswordPool;
use crate::providers::ProviderSettings;
use crate::store::blobs::BlobFiles;
use crate::store::object_storage::{BlobStore, BlobStoreSettings};
use crate::store::Database;
use crate::throttle::LoginThrottle;
use crate::zone::{business_zone, parse_business_time_zone};
use doorstep_core::business_time::{BusinessZone, DEFAULT_ZONE_NAME};
use doorstep_core::callbacks::SAMPLE_PERCENT_RANGE;
use doorstep_core::Playbook;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The default retention of a finished order's customer contact, in days
/// (`--contact-retention-days`; docs/PIPL.md).
pub const DEFAULT_CONTACT_RETENTION_DAYS: i64 = 180;

/// Server settings. Every field is a flag of `doorstep-server` (`--max-page`)
/// and an environment variable (`DOORSTEP_MAX_PAGE`); see `--help`.
#[derive(Debug, Clone, PartialEq, Serialize, clap::Args)]
pub struct Config {
    /// Largest accepted request body in bytes, after decompression (413 beyond)
    #[arg(long, env = "DOORSTEP_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024, value_parser = at_least_one::<usize>)]
    pub max_body_bytes: usize,
    /// Most events in one sync push (413 beyond)
    #[arg(long, env = "DOORSTEP_MAX_BATCH_EVENTS", default_value_t = 2000, value_parser = at_least_one::<usize>)]
    pub max_batch_events: usize,
    /// Largest page of assignment changes in one sync pull
    #[arg(long, env = "DOORSTEP_MAX_PAGE", default_value_t = 2000, value_parser = at_least_one::<u32>)]
    pub max_page: u32,
    /// Milliseconds a device's download acknowledgements wait, while its download goes on, before the center derives their receipts (the download's end derives them at once)
    #[arg(long, env = "DOORSTEP_RECEIPTS_WAIT_MS", default_value_t = 3000)]
    pub receipts_wait_ms: u64,
    /// Lifetime of a dispatcher's login session, in hours
    #[arg(long, env = "DOORSTEP_SESSION_HOURS", default_value_t = 12, value_parser = at_least_one::<i64>)]
    pub session_hours: i64,
    /// A sign-off farther than this many metres from the customer's location is flagged
    #[arg(long, env = "DOORSTEP_SIGNOFF_FAR_M", default_value_t = 500.0, value_parser = metres)]
    pub signoff_far_m: f64,
    /// Seconds a client has to send a request's headers; the connection is closed after
    #[arg(long, env = "DOORSTEP_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = at_least_one::<u64>)]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body (408 and closed after)
    #[arg(long, env = "DOORSTEP_BODY_TIMEOUT_SECS", default_value_t = 60, value_parser = at_least_one::<u64>)]
    pub body_timeout_secs: u64,
    /// Most open connections; beyond it new ones get 503 + Retry-After (`/healthz` still answers)
    #[arg(long, env = "DOORSTEP_MAX_CONNECTIONS", default_value_t = 512, value_parser = at_least_one::<usize>)]
    pub max_connections: usize,
    /// Most requests handled at once; beyond it 503 + Retry-After (`/healthz` exempt)
    #[arg(long, env = "DOORSTEP_MAX_IN_FLIGHT", default_value_t = 256, value_parser = at_least_one::<usize>)]
    pub max_in_flight: usize,
    /// Threads that hash passwords: the most argon2 hashes (19 MiB each) in memory at once
    #[arg(long, env = "DOORSTEP_HASH_THREADS", default_value_t = 2, value_parser = at_least_one::<usize>)]
    pub hash_threads: usize,
    /// Login attempts per account and minute (token bucket; 429 + Retry-After beyond)
    #[arg(long, env = "DOORSTEP_LOGINS_PER_ACCOUNT_PER_MIN", default_value_t = 10, value_parser = at_least_one::<u32>)]
    pub logins_per_account_per_min: u32,
    /// Login attempts per source address and minute (token bucket; 429 + Retry-After beyond)
    #[arg(long, env = "DOORSTEP_LOGINS_PER_ADDRESS_PER_MIN", default_value_t = 60, value_parser = at_least_one::<u32>)]
    pub logins_per_address_per_min: u32,
    /// The business time zone (IANA name) every local date is counted in: days, months, the free month; sent to the phones
    #[arg(long, env = "DOORSTEP_BUSINESS_TIME_ZONE", default_value = DEFAULT_ZONE_NAME, value_parser = parse_business_time_zone)]
    pub business_time_zone: String,
    /// Default percentage of the monthly callback sample (STANDARDS §2.18: 10 to 20)
    #[arg(long, env = "DOORSTEP_MONTHLY_SAMPLE_PERCENT", default_value_t = 15, value_parser = sample_percent)]
    pub monthly_sample_percent: u8,
    /// Company name printed on service reports (default: the trade playbook's company)
    #[arg(long, env = "DOORSTEP_COMPANY_NAME")]
    pub company_name: Option<String>,
    /// Address customers reach this server at, for report links and QR codes
    /// (default: http:// and the request's Host header)
    #[arg(long, env = "DOORSTEP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Days a customer's report link stays valid
    #[arg(long, env = "DOORSTEP_REPORT_LINK_DAYS", default_value_t = 30, value_parser = at_least_one::<i64>)]
    pub report_link_days: i64,
    /// Days after an order finished (its visit closed, or it was cancelled) that its customer's name, phone, address and location are masked (PIPL retention)
    #[arg(long, env = "DOORSTEP_CONTACT_RETENTION_DAYS", default_value_t = DEFAULT_CONTACT_RETENTION_DAYS, value_parser = at_least_one::<i64>)]
    pub contact_retention_days: i64,
    /// Directories searched for a CJK font for report PDFs (default: /usr/share/fonts and /usr/local/share/fonts)
    #[arg(long, env = "DOORSTEP_REPORT_FONT_DIRS", value_delimiter = ':')]
    pub report_font_dirs: Vec<std::path::PathBuf>,
    /// Map tiles for the console's map: an XYZ URL template with {z}, {x}, {y} (and {s}), e.g. OpenStreetMap's, AMap's or Tianditu's (default: none, markers on a blank background)
    #[arg(long, env = "DOORSTEP_MAP_TILES", value_parser = crate::map_tiles::parse_template)]
    pub map_tiles: Option<String>,
    /// The coordinate system the map tiles are drawn in: wgs84 (OpenStreetMap, Tianditu) or gcj02 (AMap, Tencent)
    #[arg(long, env = "DOORSTEP_MAP_TILES_SYSTEM", default_value = "wgs84", value_parser = crate::map_tiles::parse_system)]
    pub map_tiles_system: String,
    /// The letters or digits {s} in the tile template stands for (AMap: 1234, Tianditu: 01234567)
    #[arg(long, env = "DOORSTEP_MAP_TILES_SUBDOMAINS", default_value = "abc")]
    pub map_tiles_subdomains: String,
    /// The tile provider's attribution shown on the map
    #[arg(long, env = "DOORSTEP_MAP_ATTRIBUTION")]
    pub map_attribution: Option<String>,
    /// Days after which a device's token is replaced: a sync answer then carries the new one (`Doorstep-Device-Token`)
    #[arg(long, env = "DOORSTEP_DEVICE_TOKEN_ROTATE_DAYS", default_value_t = 30, value_parser = at_least_one::<i64>)]
    pub device_token_rotate_days: i64,
    /// Days a replaced device token keeps working, so a phone that missed the new one still syncs
    #[arg(long, env = "DOORSTEP_DEVICE_TOKEN_GRACE_DAYS", default_value_t = 14, value_parser = at_least_one::<i64>)]
    pub device_token_grace_days: i64,
    /// A bearer token `GET /metrics` requires (`Authorization: Bearer …`, Prometheus's `authorization` setting); without one it answers anyone who reaches it, so restrict it at the proxy
    #[arg(long, env = "DOORSTEP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// A monthly sample percentage within STANDARDS §2.18's 10-20 % (en, zh-CN refusal).
pub fn sample_percent(text: &str) -> Result<u8, String> {
    text.trim()
        .parse::<u8>()
        .ok()
        .filter(|p| SAMPLE_PERCENT_RANGE.contains(p))
        .ok_or_else(|| {
            "expected a whole percentage from 10 to 20 (STANDARDS §2.18) / 应为 10 到 20 之间的整数百分比（标准 §2.18）"
                .to_string()
        })
}

/// A whole number of at least 1, refused with what would be accepted (en, zh-CN).
pub fn at_least_one<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|n| *n >= T::from(1))
        .ok_or_else(|| "expected a whole number of at least 1 / 应为不小于 1 的整数".to_string())
}

/// A distance in metres, greater than 0 (en, zh-CN refusal).
pub fn metres(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|m| m.is_finite() && *m > 0.0)
        .ok_or_else(|| {
            "expected a distance in metres greater than 0, such as 500 / 应为大于 0 的米数，例如 500"
                .to_string()
        })
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            max_batch_events: 2000,
            max_page: 2000,
            receipts_wait_ms: 3000,
            session_hours: 12,
            signoff_far_m: 500.0,
            header_timeout_secs: 10,
            body_timeout_secs: 60,
            max_connections: 512,
            max_in_flight: 256,
            hash_threads: 2,
            logins_per_account_per_min: 10,
            logins_per_address_per_min: 60,
            business_time_zone: DEFAULT_ZONE_NAME.to_string(),
            monthly_sample_percent: 15,
            company_name: None,
            public_url: None,
            report_link_days: 30,
            contact_retention_days: DEFAULT_CONTACT_RETENTION_DAYS,
            report_font_dirs: Vec::new(),
            map_tiles: None,
            map_tiles_system: "wgs84".into(),
            map_tiles_subdomains: "abc".into(),
            map_attribution: None,
            device_token_rotate_days: 30,
            device_token_grace_days: 14,
            metrics_token: None,
        }
    }
}

/// The defences shared by every request: the password-hashing pool, the
/// login rate limits and the in-flight request cap.
pub struct Guard {
    pub passwords: PasswordPool,
    pub logins: LoginThrottle,
    pub in_flight: Arc<Semaphore>,
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub config: Arc<Config>,
    pub guard: Arc<Guard>,
    /// `config.business_time_zone` with its offsets from 1970 to 2100.
    pub zone: Arc<BusinessZone>,
    /// The uploaded photos' bytes (`store::blobs`).
    pub blobs: Arc<BlobFiles>,
    /// What `/metrics` serves (`ops::metrics`).
    pub metrics: Arc<Metrics>,
    /// The outbound providers (SMS, webhooks) and the outbox worker's timing.
    pub providers: Arc<ProviderSettings>,
    /// The shipped and the published playbooks (`domain::playbooks`).
    pub playbooks: Arc<crate::playbook_shelf::PlaybookShelf>,
    /// Each device's pushes being handled, stored in the order sent
    /// (`upload_order`).
    pub uploads: Arc<crate::upload_order::UploadOrder>,
    /// Work left until after a request's answer (`after_answer`): the
    /// receipts a pull acknowledged.
    pub after_answer: Arc<crate::after_answer::AfterAnswer>,
}

impl AppState {
    /// With the blobs in a fresh directory under the system's temporary
    /// directory (tests, benchmarks); the server binary gives its own with
    /// [`AppState::with_blob_store`].
    pub fn new(db: Database, config: Config) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "doorstep-blobs-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let blobs = BlobFiles::scratch(dir)
            .unwrap_or_else(|e| panic!("cannot create a temporary blob directory: {e}"));
        Self::with_blobs(db, config, blobs)
    }

    /// With the uploads in progress in `dir` and the whole photos in the
    /// blob store `settings` name (files in `dir` without one); a setting
    /// missing or malformed is refused, naming its flag. A business time
    /// zone the tz database does not know (only possible when `config` was
    /// not parsed from flags) falls back to Asia/Shanghai, with a warning.
    pub fn with_blob_store(
        db: Database,
        config: Config,
        dir: impl Into<std::path::PathBuf>,
        settings: &BlobStoreSettings,
    ) -> Result<Self, String> {
        let dir = dir.into();
        std::fs::create_dir_all(dir.join("partial"))
            .map_err(|e| format!("cannot create the blob directory {}: {e}", dir.display()))?;
        let store = BlobStore::configured(settings, &dir)?;
        Ok(Self::with_blobs(
            db,
            config,
            BlobFiles::with_store(dir, store),
        ))
    }

    fn with_blobs(db: Database, config: Config, blobs: BlobFiles) -> Self {
        let guard = Guard {
            passwords: PasswordPool::new(config.hash_threads),
            logins: LoginThrottle::new(
                config.logins_per_account_per_min,
                config.logins_per_address_per_min,
            ),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
        };
        let zone = business_zone(&config.business_time_zone).unwrap_or_else(|e| {
            tracing::warn!(zone = %config.business_time_zone, "{e}; using {DEFAULT_ZONE_NAME}");
            BusinessZone::shanghai()
        });
        Self {
            db,
            config: Arc::new(config),
            guard: Arc::new(guard),
            zone: Arc::new(zone),
            blobs: Arc::new(blobs),
            metrics: Arc::new(Metrics::new()),
            providers: Arc::new(ProviderSettings::default()),
            playbooks: Arc::default(),
            uploads: Arc::default(),
            after_answer: Arc::default(),
        }
    }

    /// With the photos kept by `blobs` (tests: an S3 simulator's bucket).
    pub fn with_blob_files(mut self, blobs: BlobFiles) -> Self {
        self.blobs = Arc::new(blobs);
        self
    }

    /// With these provider settings (the server binary's flags; tests point
    /// them at the simulators).
    pub fn with_providers(mut self, providers: ProviderSettings) -> Self {
        self.providers = Arc::new(providers);
        self
    }

    /// The shipped playbook of a trade (the core's one lookup).
    pub fn playbook(&self, trade: &str) -> Option<&'static Playbook> {
        Playbook::shipped_ref(trade)
    }
}
