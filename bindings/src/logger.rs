//! The core's log lines, forwarded to the shell's logger (Logcat on
//! Android, `os_log` on iOS). The core logs through the `log` facade; this
//! module installs one forwarding `log::Log` the first time `set_logger` is
//! called and swaps the foreign target behind it afterwards.
//!
//! Doorstep's own lines (`doorstep::*` targets: sync, store) pass at the
//! chosen level; other crates' (HTTP, TLS) only at warn and error, so a
//! debug level does not flood the shell. Log lines never carry customer
//! data: the core logs ids, counts and error codes.

use crate::error::DoorstepError;
use std::sync::{Arc, RwLock};

/// Severity, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One line for the shell's logger.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// Where it comes from, e.g. `doorstep::sync`.
    pub target: String,
    pub message: String,
}

/// The shell's logger (implemented in Kotlin/Swift). Called on whichever
/// thread logs; must be quick and must not throw.
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    fn log(&self, record: LogRecord);
}

struct Forwarder {
    target: RwLock<Option<(Arc<dyn Logger>, log::Level)>>,
}

static FORWARDER: Forwarder = Forwarder {
    target: RwLock::new(None),
};

fn level_of(l: log::Level) -> LogLevel {
    match l {
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warn,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace => LogLevel::Trace,
    }
}

fn to_log(l: LogLevel) -> log::Level {
    match l {
        LogLevel::Error => log::Level::Error,
        LogLevel::Warn => log::Level::Warn,
        LogLevel::Info => log::Level::Info,
        LogLevel::Debug => log::Level::Debug,
        LogLevel::Trace => log::Level::Trace,
    }
}

impl log::Log for Forwarder {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        let Ok(guard) = self.target.read() else {
            return false;
        };
        let Some((_, max)) = guard.as_ref() else {
            return false;
        };
        let ours = meta.target().starts_with("doorstep");
        let ceiling = if ours {
            *max
        } else {
            (*max).min(log::Level::Warn)
        };
        meta.level() <= ceiling
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let logger = match self.target.read() {
            Ok(g) => g.as_ref().map(|(l, _)| l.clone()),
            Err(_) => None,
        };
        if let Some(logger) = logger {
            logger.log(LogRecord {
                level: level_of(record.level()),
                target: record.target().to_string(),
                message: record.args().to_string(),
            });
        }
    }

    fn flush(&self) {}
}

/// Sends Doorstep's log lines at `max_level` and above to `logger`; `None`
/// stops forwarding. Calling it again replaces the logger and level. Fails
/// only if another logger already owns the process's `log` facade.
#[uniffi::export]
pub fn set_logger(
    logger: Option<Arc<dyn Logger>>,
    max_level: LogLevel,
) -> Result<(), DoorstepError> {
    let installed = log::set_logger(&FORWARDER).is_ok()
        || std::ptr::eq(
            log::logger() as *const dyn log::Log as *const (),
            &FORWARDER as *const Forwarder as *const (),
        );
    if !installed {
        return Err(DoorstepError::internal(
            "logger_unavailable",
            "Another logger already receives this process's log lines.",
            "本进程的日志已由其他组件接管。",
        ));
    }
    let mut target = FORWARDER.target.write().unwrap_or_else(|p| p.into_inner());
    *target = logger.map(|l| (l, to_log(max_level)));
    log::set_max_level(match &*target {
        Some((_, level)) => level.to_level_filter(),
        None => log::LevelFilter::Off,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<LogRecord>>);

    impl Logger for Lines {
        fn log(&self, record: LogRecord) {
            self.0.lock().unwrap().push(record);
        }
    }

    #[test]
    fn doorstep_lines_reach_the_shell_at_its_level_and_others_only_when_serious() {
        let lines = Arc::new(Lines::default());
        set_logger(Some(lines.clone()), LogLevel::Info).unwrap();
        log::info!(target: "doorstep::sync", "sync finished: 3 pushed");
        log::debug!(target: "doorstep::sync", "too detailed");
        log::info!(target: "hyper::client", "chatty");
        log::warn!(target: "rustls::conn", "certificate expired");
        // Setting it again replaces the level (and keeps the facade).
        set_logger(Some(lines.clone()), LogLevel::Debug).unwrap();
        log::debug!(target: "doorstep::store", "checkpoint");
        set_logger(None, LogLevel::Trace).unwrap();
        log::error!(target: "doorstep::sync", "after removal");

        let got = lines.0.lock().unwrap().clone();
        let messages: Vec<_> = got.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "sync finished: 3 pushed",
                "certificate expired",
                "checkpoint"
            ]
        );
        assert_eq!(got[0].level, LogLevel::Info);
        assert_eq!(got[0].target, "doorstep::sync");
        assert_eq!(got[1].level, LogLevel::Warn);
    }
}
