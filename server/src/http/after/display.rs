//! The core's vocabulary in the visit responses: stage and outcome labels in
//! both languages and amounts formatted by `doorstep_core::money`, added beside
//! the raw codes and fen so the console formats nothing itself.

use crate::model::VisitRow;
use chrono::{DateTime, Utc};
use doorstep_core::history_check::fact_label;
use doorstep_core::messages::Text;
use doorstep_core::money::format_money;
use doorstep_core::wire::from_wire_name;
use doorstep_core::workflow::{Outcome, Stage, VisitEvent, VisitState};
use serde::Serialize;
use std::collections::BTreeMap;

/// The label of a stage stored by its wire name (`on_site`).
pub fn stage_label(stage: &str) -> Option<Text> {
    from_wire_name::<Stage>(stage).map(Stage::label)
}

/// The label of an outcome stored by its wire name (`fixed`).
pub fn outcome_label(outcome: Option<&str>) -> Option<Text> {
    outcome
        .and_then(from_wire_name::<Outcome>)
        .map(Outcome::label)
}

/// One row of `/api/visits`: the stored row and its labels.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LabelledVisit {
    #[serde(flatten)]
    pub row: VisitRow,
    pub stage_label: Option<Text>,
    pub outcome_label: Option<Text>,
    /// The technician's name, as the desk knows them (absent: not on the roster).
    pub technician_name: Option<String>,
}

impl From<VisitRow> for LabelledVisit {
    fn from(row: VisitRow) -> Self {
        Self {
            stage_label: stage_label(&row.stage),
            outcome_label: outcome_label(row.outcome.as_deref()),
            technician_name: None,
            row,
        }
    }
}

impl LabelledVisit {
    /// The row with its labels and its technician's name from `names` (id → name).
    pub fn named(row: VisitRow, names: &BTreeMap<String, String>) -> Self {
        let mut v = Self::from(row);
        v.technician_name = names.get(&v.row.technician_id).cloned();
        v
    }
}

/// One quote line's amounts as shown, and the item's name from the trade's
/// fee schedule (absent for an item the shipped schedule does not list).
#[derive(Serialize, utoipa::ToSchema)]
pub struct QuoteLineDisplay {
    pub unit_price: String,
    pub amount: String,
    pub item_name: Option<Text>,
}

/// `/api/visits/{id}`'s `display`: the visit's labels and every amount the
/// detail shows, formatted in the quote's currency.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VisitDisplay {
    pub stage_label: Text,
    pub outcome_label: Option<Text>,
    /// One entry per quote line, in the quote's order; empty without a quote.
    pub quote_lines: Vec<QuoteLineDisplay>,
    pub customer_total: Option<String>,
    pub covered_total: Option<String>,
    pub deposit_total: Option<String>,
    pub discount: Option<String>,
    /// The last payment collected.
    pub collected: Option<String>,
    pub paid_total: String,
    /// What the customer still owes on the accepted quote (absent until one is accepted).
    pub amount_due: Option<String>,
    /// The same in fen, so a screen can flag a debt without doing arithmetic.
    pub amount_due_fen: Option<i64>,
    /// The fee schedule's name of each part the diagnosis named or the work
    /// used, by its item id (a screen shows names, never ids).
    #[schema(value_type = BTreeMap<String, doorstep_core::Text>)]
    pub part_names: BTreeMap<String, Text>,
}

impl VisitDisplay {
    /// The labels of `state`, its fee items named from `playbook` (the
    /// version the visit walks).
    pub fn of(state: &VisitState, playbook: Option<&doorstep_core::Playbook>) -> Self {
        let currency = state
            .quote
            .as_ref()
            .map_or("CNY", |q| q.currency.as_str())
            .to_string();
        let shown = |minor: i64| format_money(minor, &currency);
        let quote = state.quote.as_ref();
        let due = state.amount_due();
        let item_name = |item: &str| playbook.and_then(|p| p.fee(item)).map(|f| f.name.clone());
        Self {
            stage_label: state.stage.label(),
            outcome_label: state.outcome.map(Outcome::label),
            quote_lines: quote.map_or_else(Vec::new, |q| {
                q.lines
                    .iter()
                    .map(|l| QuoteLineDisplay {
                        unit_price: shown(l.unit_price),
                        amount: shown(l.amount),
                        item_name: item_name(&l.item),
                    })
                    .collect()
            }),
            customer_total: quote.map(|q| shown(q.customer_total)),
            covered_total: quote.map(|q| shown(q.covered_total)),
            deposit_total: quote.map(|q| shown(q.deposit_total)),
            discount: quote
                .and_then(|q| q.discount.as_ref())
                .map(|d| shown(d.amount)),
            collected: state.payment.as_ref().map(|p| shown(p.amount)),
            paid_total: shown(state.paid_total),
            amount_due: due.map(shown),
            amount_due_fen: due,
            part_names: state
                .diagnosis
                .iter()
                .flat_map(|d| d.parts.iter())
                .chain(
                    state
                        .work
                        .iter()
                        .flat_map(|w| w.parts_used.iter().map(|p| &p.item)),
                )
                .filter_map(|item| Some((item.clone(), item_name(item)?)))
                .collect(),
        }
    }
}

/// One fact of `/api/visits/{id}`'s `history`: when the phone recorded it
/// and its label, the command table's name for the action that recorded it
/// (what the technician's screen called it).
#[derive(Serialize, utoipa::ToSchema)]
pub struct VisitHistoryEntry {
    pub at: DateTime<Utc>,
    pub label: Text,
    pub device_id: String,
}

/// The visit's facts in timeline order, labelled.
pub fn history(events: &[VisitEvent]) -> Vec<VisitHistoryEntry> {
    events
        .iter()
        .map(|e| VisitHistoryEntry {
            at: e.recorded_at,
            label: fact_label(&e.kind),
            device_id: e.device_id.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_found_by_their_stored_names() {
        assert_eq!(stage_label("on_site").map(|t| t.zh), Some("服务中".into()));
        assert_eq!(stage_label("nonsense"), None);
        assert_eq!(
            outcome_label(Some("fixed")).map(|t| t.en),
            Some("Fixed".into())
        );
        assert_eq!(outcome_label(None), None);
    }

    #[test]
    fn a_visit_without_a_quote_shows_no_amounts_but_what_was_paid() {
        let d = VisitDisplay::of(&VisitState::default(), None);
        assert!(d.quote_lines.is_empty() && d.customer_total.is_none());
        assert_eq!(d.paid_total, "¥0.00");
        assert_eq!(d.amount_due, None);
        assert_eq!(d.stage_label, Stage::New.label());
    }
}
