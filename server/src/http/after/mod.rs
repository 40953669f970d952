//! After the visit: visits and their conflicts, callbacks (回访), daily
//! reconciliation, KPIs, the service report and the facts refused at push.

pub mod callbacks;
pub mod conflicts;
pub mod display;
pub mod kpis;
pub mod photos;
pub mod reconciliation;
pub mod refused;
pub mod report;
pub mod visits;
