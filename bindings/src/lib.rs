//! `doorstep-ffi`: the uniffi surface of Doorstep for the Kotlin
//! (`app.doorstep.core`) and Swift (`DoorstepCore`) shells. The only crate
//! that knows uniffi; proc-macros only, bindings generated in library mode
//! by `scripts/gen-bindings`.
//!
//! The surface is small and task-shaped, not a mirror of the core:
//! - [`playbooks`]: shipped trades, validating a custom playbook;
//! - [`script`]: run a visit script, get the final view;
//! - [`session`]: `VisitSession`, one visit in memory driven by JSON commands;
//! - [`device_store`]: `DeviceStore`, the durable local store: open/close,
//!   receive an assignment, today's visits, a visit's screen, apply a
//!   command, sign-off or decline;
//! - [`device_key`]: `DeviceKeyHolder`, the platform keystore's signing
//!   key (registered at enrolment, signing every sign-off);
//! - [`discount_key`]: `DiscountKeyHolder`, the platform keystore's
//!   discount secret (issued at enrolment, checking the center's offline
//!   discount codes);
//! - [`forms`]: the form of every action the visit offers, and the values
//!   a shell submits for one (`action_forms`, `submit_action`);
//! - [`sync`]: `Syncer` (one sync now over an owned runtime, progress to a
//!   foreign listener, cancel), `enrol_device`, and the shell's HTTP seam;
//! - [`sync_service`]: `SyncService`, the core's one sync loop: started with
//!   a state listener, stopped by its `TaskHandle`, fed platform signals;
//! - [`times`]: `LocalTimes`, every time and window a screen shows, in the
//!   business time zone, in both languages;
//! - [`logger`]: `set_logger`, the core's log lines to Logcat / os_log;
//! - [`types`]: the records that cross (screen, actions, quote, timers...);
//! - [`error`]: the one public error, `DoorstepError`, with stable codes and
//!   zh/en texts, and the panic guard: nothing unwinds across the boundary.
//!
//! Objects hold the core's types and convert with `From`; no rule lives here.

uniffi::setup_scaffolding!();

pub mod device_key;
pub mod device_store;
pub mod discount_key;
pub mod error;
pub mod forms;
pub mod logger;
pub mod photos;
pub mod playbooks;
pub mod qr_payments;
pub mod script;
pub mod session;
pub mod sync;
pub mod sync_service;
pub mod times;
pub mod types;

pub use device_store::DeviceStore;
pub use error::DoorstepError;
pub use session::VisitSession;
pub use sync::Syncer;
pub use sync_service::{SyncService, TaskHandle};
pub use times::LocalTimes;
