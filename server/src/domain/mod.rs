//! The center's rules, free of HTTP: what may happen to an assignment and
//! in what order, how a visit is rebuilt from a device's events and who has
//! authority over what, the 1-hour rule, callbacks, reconciliation and KPIs.
//! Every operation runs in the caller's transaction ([`crate::store::Tx`])
//! and fails with [`crate::failure::Failure`]; the HTTP layer calls in, never
//! the other way round.

pub mod acceptance_codes;
pub mod admission;
pub mod assignments;
pub mod bounds;
pub mod callbacks;
pub mod candidates;
pub mod cash_ledger;
pub mod conflicts;
pub mod desk_requests;
pub mod discount_approvals;
pub mod enrolment;
pub mod export;
pub mod ingest;
pub mod intake;
pub mod invoices;
pub mod kpis;
pub mod notices;
pub mod order_history;
pub mod outbox;
pub mod personal_data;
pub mod playbooks;
pub mod privacy_numbers;
pub mod projection;
pub mod qr_payments;
pub mod receipts;
pub mod reconciliation;
pub mod reminders;
pub mod roster;
pub mod webhooks;
