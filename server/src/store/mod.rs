//! Storage: one repository over two backends, embedded SQLite (default, zero
//! set-up) and PostgreSQL (production, stateless replicas).
//!
//! Every query lives in one repository module per table group (below),
//! written once against the [`Tx`] trait: a transaction that runs SQL with
//! `$1`-style parameters over three value types (integer, text, null).
//! Each backend implements that trait and owns its migrations; the schema is
//! the same on both (times are integer Unix milliseconds, JSON is text,
//! flags are 0/1 integers), so every query means the same on both and the
//! integration tests run unchanged on each. Why not one trait of domain
//! methods per backend: two hand-written copies of every query drift apart;
//! one copy of the SQL and a 100-line dialect layer cannot.
//!
//! Rows are read by column name ([`Row::text`]`("status")`), never by
//! position (a position only reads one-column ad-hoc results such as
//! `PRAGMA user_version` in tests), and the repository functions return
//! [`Failure`](crate::failure::Failure), never an HTTP error.
//!
//! Transactions: [`Database::tx`] runs a closure in one transaction and
//! commits when it returns `Ok`, rolls back otherwise.
//! - SQLite runs on one dedicated thread that owns the single connection
//!   (WAL, foreign keys on, `BEGIN IMMEDIATE`): writes are serialised, as
//!   SQLite does anyway, and never block the async runtime. The closure's
//!   future is driven on that thread; its queries complete synchronously.
//!   Reads ([`Database::read`]) run on a pool of read-only connections of
//!   their own threads: under WAL they see the last commit and never wait
//!   for the writer.
//! - PostgreSQL uses a deadpool pool of tokio-postgres connections with
//!   cached prepared statements. Writers that need a total order (the change
//!   sequence, one device's pushes) take a transaction-scoped advisory lock
//!   ([`Tx::lock`]), which SQLite's single writer gives for free.

pub mod database;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod sqlite_checkpoints;
pub mod sqlite_statement_work;

pub mod acceptance_codes;
pub mod assignments;
pub mod blobs;
pub mod callbacks;
pub mod cash_ledger;
pub mod desk_requests;
pub mod devices;
pub mod enrolment_codes;
pub mod events;
pub mod intakes;
pub mod integrations;
pub mod invoices;
pub mod notices;
pub mod object_storage;
pub mod order_lookup;
pub mod order_numbers;
pub mod order_search_pieces;
pub mod outbox;
pub mod personal_data;
pub mod playbooks;
pub mod positions;
pub mod privacy_numbers;
pub mod qr_payments;
pub mod receipts;
pub mod report_links;
pub mod sessions;
pub mod settings;
pub mod technicians;
pub mod users;
pub mod visits;

pub use database::Database;
pub use sql::{BoxFuture, Column, DbError, LockKey, Row, Tx, TxFn, Value};
