//! The dispatch desk's endpoints (服务中心/调度): staff sessions and
//! accounts, the roster and devices, assignments and their discount
//! approvals (`discounts`), intake and the 1-hour
//! rule's reminders; personal data requests (PIPL); customer notices and
//! the outbox (`notices`); e-fapiao requests (`invoices`); the engineers'
//! cash ledger and remittances (`cash_ledger`); API keys, webhooks and the event feed
//! (`integrations`).

pub mod admin;
pub mod assignments;
pub mod board;
pub mod cash_ledger;
pub mod devices;
pub mod discounts;
pub mod export;
pub mod intake;
pub mod integrations;
pub mod invoices;
pub mod live;
pub mod notices;
pub mod orders;
pub mod personal_data;
pub mod playbooks;
pub mod reminders;
pub mod requests;
pub mod roster;
pub mod session;
pub mod users;
