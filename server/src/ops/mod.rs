//! Running the server in production: the configuration file
//! ([`config_file`]), the log format ([`logging`]), the metrics registry
//! ([`metrics`], served by `http::observe`) and the SQLite backup and
//! restore ([`backup`]). Imports nothing of `app` or `http` (they import it).

pub mod backup;
pub mod config_file;
pub mod logging;
pub mod metrics;
