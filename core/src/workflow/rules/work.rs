//! Step 13, Repair (the work itself), STANDARDS §2.13: the work and parts
//! used, after the protection, the diagnosis, the accepted quote and any
//! consent the work needs; the guardian present in home care; hidden faults.

use super::diagnose::{require_backup_consent, require_fault_reproduced};
use super::inspect::require_inspection_passed;
use super::protect::require_protection;
use super::quote::require_quote_accepted_if_chargeable;
use super::shared::{non_empty, out_of_order, require_work_recorded};
use super::{Given, Result};
use crate::messages::Text;
use crate::playbook::{Playbook, Step, WorkKind};
use crate::workflow::command::{PartUsed, RepairDecision};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

pub(super) fn record_guardian(name: &str, relation: &str) -> Result<Vec<EventKind>> {
    non_empty("name", name)?;
    non_empty("relation", relation)?;
    Ok(vec![EventKind::GuardianRecorded {
        name: name.to_string(),
        relation: relation.to_string(),
    }])
}

pub(super) fn record_work(
    g: Given,
    description: &str,
    kind: Option<WorkKind>,
    parts_used: &[PartUsed],
) -> Result<Vec<EventKind>> {
    let (s, pb) = (g.state, g.playbook);
    require_protection(s, pb)?;
    non_empty("description", description)?;
    require_repair_on_site(g)?;
    require_fault_reproduced(g)?;
    if pb.has(Step::Inspect) {
        require_inspection_passed(s, pb)?;
    }
    let kind = kind.unwrap_or_else(|| pb.rules.work_kinds.first().copied().unwrap_or_default());
    require_work_offered(pb, kind)?;
    require_backup_consent(s, pb, kind, parts_used)?;
    require_guardian_present(s, pb)?;
    if pb.has(Step::Quote) {
        require_quote_accepted_if_chargeable(s)?;
    }
    require_parts_quoted(s, pb, parts_used)?;
    require_serial_numbers(pb, parts_used)?;
    Ok(vec![EventKind::WorkRecorded {
        description: description.to_string(),
        kind,
        parts_used: parts_used.to_vec(),
    }])
}

/// STANDARDS §2.11 (故障诊断): work follows a diagnosis that decided to fix
/// on site (not to take the unit back), where the trade diagnoses.
fn require_repair_on_site(g: Given) -> Result<()> {
    match &g.state.diagnosis {
        Some(d) if d.decision == RepairDecision::TakeBack => Err(out_of_order(
            g.command,
            g.state,
            "the diagnosis decided to take the unit back",
        )),
        None if g.playbook.has(Step::Diagnose) => {
            Err(out_of_order(g.command, g.state, "record the diagnosis"))
        }
        _ => Ok(()),
    }
}

/// STANDARDS §1 (water delivery): "cleaning/part repairs are booked, not
/// done ad hoc" — only the kinds of work the trade offers on a visit.
fn require_work_offered(pb: &Playbook, kind: WorkKind) -> Result<()> {
    if pb.rules.work_kinds.contains(&kind) {
        Ok(())
    } else {
        Err(WorkflowError::WorkNotOffered { kind })
    }
}

/// STANDARDS §1 (home elderly care): "guardian present" for the work.
fn require_guardian_present(s: &VisitState, pb: &Playbook) -> Result<()> {
    if pb.rules.guardian_present && s.guardian.is_none() {
        Err(WorkflowError::GuardianRequired)
    } else {
        Ok(())
    }
}

/// STANDARDS §2.16 (signature bound to the exact report: quote, parts,
/// amounts): every part used is on the fee schedule and, where the trade
/// quotes, on the quote the customer saw — a part not on it needs a revised quote first.
fn require_parts_quoted(s: &VisitState, pb: &Playbook, parts_used: &[PartUsed]) -> Result<()> {
    for p in parts_used {
        if pb.fee(&p.item).is_none() {
            return Err(WorkflowError::InvalidInput {
                field: "parts_used".into(),
                problem: Text::new(
                    format!("“{}” is not in the fee schedule", p.item),
                    format!("“{}”不在收费标准中", p.item),
                ),
            });
        }
        let quoted = s
            .quote
            .as_ref()
            .is_some_and(|q| q.lines.iter().any(|l| l.item == p.item));
        if pb.has(Step::Quote) && !quoted {
            return Err(WorkflowError::PartNotQuoted {
                item: p.item.clone(),
                name: pb.fee(&p.item).map(|f| f.name.clone()),
            });
        }
    }
    Ok(())
}

/// STANDARDS §2.13 (试机通检): "parts used (old/new serials)" — a part the
/// trade's fee schedule marks as serialised is recorded with both serials.
fn require_serial_numbers(pb: &Playbook, parts_used: &[PartUsed]) -> Result<()> {
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|v| v.trim().is_empty());
    for (i, p) in parts_used.iter().enumerate() {
        let Some(fee) = pb.fee(&p.item).filter(|f| f.serial_numbers) else {
            continue;
        };
        for (field, value) in [("old_serial", &p.old_serial), ("new_serial", &p.new_serial)] {
            if blank(value) {
                return Err(WorkflowError::InvalidInput {
                    field: format!("parts_used[{i}].{field}"),
                    problem: Text::new(
                        format!(
                            "{} is fitted with its old and new serial numbers recorded",
                            fee.name.en
                        ),
                        format!("更换{}须记录新旧件序列号", fee.name.zh),
                    ),
                });
            }
        }
    }
    Ok(())
}

pub(super) fn report_hidden_fault(g: Given, description: &str) -> Result<Vec<EventKind>> {
    non_empty("description", description)?;
    require_work_recorded(g, "record the repair work")?;
    Ok(vec![EventKind::HiddenFaultFound {
        description: description.to_string(),
    }])
}
