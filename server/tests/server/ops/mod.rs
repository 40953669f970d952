//! Issue 17: running the server in production — backup and restore under
//! load, metrics and logs, graceful shutdown, configuration and packaging,
//! and the commands of docs/OPERATIONS.md — each against the real binary.

mod support;

mod backup;
mod observe;
mod operations_doc;
mod packaging;
mod shutdown;
