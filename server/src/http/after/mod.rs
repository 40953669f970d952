//! After the visit: visits and their conflicts, callbacks (回访), daily
//! reconciliation, KPIs and the service report.

pub mod callbacks;
pub mod conflicts;
pub mod display;
pub mod kpis;
pub mod photos;
pub mod reconciliation;
pub mod report;
pub mod visits;
