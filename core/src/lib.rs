//! Doorstep core: the domain every part of Doorstep shares.
//!
//! - [`playbook`]: the six trades' rule sets as data (TOML), validated.
//! - [`workflow`]: the visit as a pure state machine over events.
//! - [`business_time`]: the business time zone every local date is
//!   counted in, and local dates and times as people read them.
//! - [`quote`], [`signoff`], [`callbacks`]: pricing, the signature bound to
//!   the report, and the callback schedule.
//! - [`photos`]: the watermark a shell burns into a photo, and the content
//!   type of stored photo bytes.
//! - [`messages`], [`scripts`]: what the product says, in zh-CN and en.
//! - [`store`]: the phone's durable local database (events, projections,
//!   outbox, migrations, retention).
//! - [`protocol`]: the sync wire types shared by the server and devices;
//!   [`receipt`]: the envelope of the facts a downloaded page produces,
//!   shared so the server derives the phone's receipts;
//!   [`wire`]: the serde tag as a string, the one helper for it.
//! - [`script_runner`]: JSON-lines visit scripts (the `doorstep` CLI).
//! - [`walkthrough`]: visits driven through the workflow by the book (demo
//!   data, fixtures, benchmarks); [`history_check`]: whether a recorded
//!   history is one the workflow produces; [`admission`]: whether one
//!   pushed fact is (the server's check at push), and [`device_key`]: the
//!   phone's ECDSA P-256 key signing sign-off evidence.
//! - [`discount_approval`]: the center's discount approvals, online on the
//!   work order and offline as a short code under the device's secret.
//!
//! No IO inside the rules: time, ids and locations come from the caller.

pub mod acceptance_code;
pub mod admission;
pub mod assignment;
pub mod business_time;
pub mod canonical;
pub mod clock;
pub mod contact_text;
pub mod device_key;
pub mod discount_approval;
pub mod history_check;
pub mod ids;
pub mod invoice_request;
mod key_file;
pub mod location;
pub mod messages;
pub mod money;
pub mod photos;
pub mod playbook;
pub mod protocol;
pub mod qr_payment;
pub mod quote;
pub mod receipt;
pub mod script_runner;
pub mod scripts;
pub mod signoff;
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;
pub mod walkthrough;
pub mod wire;
pub mod workflow;

/// The callback schedule is derived from the visit: it lives in the workflow.
pub use workflow::callbacks;

pub use assignment::{Assignment, TimeWindow};
pub use business_time::BusinessZone;
pub use ids::{AssignmentId, DeviceId, EventId, TechnicianId, TradeId, VisitId};
pub use messages::{Lang, Text};
pub use playbook::{Playbook, PlaybookError, Step};
pub use wire::wire_name;
pub use workflow::{
    Context, EventKind, Outcome, Stage, Visit, VisitCommand, VisitEvent, VisitState, VisitView,
    WorkflowError,
};
