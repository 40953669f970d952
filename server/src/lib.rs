//! Doorstep server: the center's side of Doorstep.
//!
//! It takes customer requests (intake), pushes assignments to technicians,
//! receives every visit event from their devices (sync), and gives the
//! center conflicts, callbacks, daily reconciliation and KPIs, through a JSON
//! API and a dispatcher web console served by the same binary.
//!
//! Layers, each importing only the ones below it:
//! - [`http`]: the router, thin handlers grouped by what they serve
//!   (`center`, `after`, `sync`), authentication of the caller, and the JSON
//!   error shape ([`http::error::ApiError`], used only here).
//! - [`domain`]: the center's rules, free of HTTP (assignments, intake, the
//!   1-hour rule, the visit projection and authority rule, ingest,
//!   conflicts, callbacks, reconciliation, KPIs).
//! - [`store`]: one repository module per table group holding all the SQL,
//!   over SQLite (default) and PostgreSQL.
//! - [`app`] (settings and shared state), [`model`] (records and typed
//!   states), [`failure`] (the internal error), [`auth`] (roles, passwords,
//!   tokens), [`passwords`] (the capped hashing pool), [`throttle`] (login
//!   rate limits), [`time`], [`zone`] (the business time zone every local
//!   date is counted in), [`map_tiles`] (the console map's tile source),
//!   [`playbook_shelf`] (the shipped and published playbooks visits are
//!   judged by), [`upload_order`] (a device's pushes stored in the order
//!   sent, two on their way at once), [`after_answer`] (work a request
//!   leaves until after its answer, counted), [`json_spans`] (a JSON answer
//!   scanned for its texts' places, to rewrite a few and copy the rest).
//! - [`report`]: the service report of a closed visit (HTML, PDF via typst,
//!   QR code, customer links); it reads through [`store`] and [`domain`].
//! - [`outbox`]: what leaves the server — the worker that fans integration
//!   events out to webhooks and customer notices and delivers the outbox
//!   with retries, the provider adapters (Tencent Cloud SMS, signed
//!   webhooks) and their simulator; [`providers`]: their settings.
//! - [`console`]: the embedded web console; [`demo`]: the demo data set,
//!   its visits walked through the real workflow.
//! - [`ops`]: running it in production — the configuration file, the log
//!   format, the metrics registry, SQLite backup and restore.

pub mod after_answer;
pub mod api_schema;
pub mod app;
pub mod auth;
pub mod console;
pub mod demo;
pub mod domain;
pub mod failure;
pub mod http;
pub mod json_spans;
pub mod map_tiles;
pub mod model;
pub mod ops;
pub mod outbox;
pub mod passwords;
pub mod playbook_shelf;
pub mod providers;
pub mod report;
pub mod store;
pub mod throttle;
pub mod time;
pub mod upload_order;
pub mod zone;
