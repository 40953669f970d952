//! The server's log (`--log-format`): one line per event on standard error,
//! as text for a person or as JSON for a log collector. Every request's line
//! carries its request id, route template, status and caller (`device:…` or
//! `user:…`) from the request span (`http::observe`); never a customer's
//! name, phone or address, nor a raw path or query (they can hold tokens and
//! search text). `RUST_LOG` filters as usual (default `info`).

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines
    Text,
    /// One JSON object a line: timestamp, level, message, fields and the request span
    Json,
}

/// The default filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,tower_http=warn";

/// Installs the process's log subscriber (once, at start-up).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(false).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
