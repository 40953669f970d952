//! What every request runs with: the server's settings ([`Config`], each
//! one a command-line flag and a `DOORSTEP_…` environment variable) and the
//! shared state ([`AppState`]: database and settings; a trade's playbook is
//! the core's shipped one, [`AppState::playbook`]).

use crate::store::Database;
use doorstep_core::Playbook;
use serde::Serialize;
use std::sync::Arc;

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
    /// Lifetime of a dispatcher's login session, in hours
    #[arg(long, env = "DOORSTEP_SESSION_HOURS", default_value_t = 12, value_parser = at_least_one::<i64>)]
    pub session_hours: i64,
    /// A sign-off farther than this many metres from the customer's location is flagged
    #[arg(long, env = "DOORSTEP_SIGNOFF_FAR_M", default_value_t = 500.0, value_parser = metres)]
    pub signoff_far_m: f64,
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
    /// Offset from UTC, in minutes, of the times printed on reports (480: China Standard Time)
    #[arg(long, env = "DOORSTEP_REPORT_UTC_OFFSET_MINUTES", default_value_t = 480, value_parser = utc_offset_minutes, allow_hyphen_values = true)]
    pub report_utc_offset_minutes: i32,
    /// Directories searched for a CJK font for report PDFs (default: /usr/share/fonts and /usr/local/share/fonts)
    #[arg(long, env = "DOORSTEP_REPORT_FONT_DIRS", value_delimiter = ':')]
    pub report_font_dirs: Vec<std::path::PathBuf>,
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

/// An offset from UTC in whole minutes, -720 to 840 (en, zh-CN refusal).
pub fn utc_offset_minutes(text: &str) -> Result<i32, String> {
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|m| (-720..=840).contains(m))
        .ok_or_else(|| {
            "expected minutes from UTC between -720 and 840, such as 480 for China Standard Time / 应为 -720 到 840 之间的分钟数，例如中国标准时间为 480".to_string()
        })
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            max_batch_events: 2000,
            max_page: 2000,
            session_hours: 12,
            signoff_far_m: 500.0,
            company_name: None,
            public_url: None,
            report_link_days: 30,
            report_utc_offset_minutes: 480,
            report_font_dirs: Vec::new(),
        }
    }
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(db: Database, config: Config) -> Self {
        Self {
            db,
            config: Arc::new(config),
        }
    }

    /// The shipped playbook of a trade (the core's one lookup).
    pub fn playbook(&self, trade: &str) -> Option<&'static Playbook> {
        Playbook::shipped_ref(trade)
    }
}
