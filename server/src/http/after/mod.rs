//! After the visit: visits and their conflicts, callbacks (回访), daily
//! reconciliation and KPIs.

pub mod callbacks;
pub mod conflicts;
pub mod display;
pub mod kpis;
pub mod photos;
pub mod reconciliation;
pub mod visits;
