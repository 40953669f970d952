//! Step 11, Listen, then diagnose (故障诊断), STANDARDS §2.11: the cause and
//! parts; the data-risk warning and signed backup consent before disk/OS
//! work; take-back (拉修) with the loaner offered, the unit's appearance
//! recorded and the customer's signed receipt; a missing part.

use super::protect::require_protection;
use super::shared::{
    non_empty, out_of_order, require_agreement_on_site, require_signature, valid_future_window,
};
use super::{Given, Result};
use crate::messages::Text;
use crate::playbook::{FaultCode, Playbook, WorkKind};
use crate::workflow::command::{MissingPartResolution, PartUsed, RepairDecision};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::signature::{strokes_digest, Stroke};
use crate::workflow::state::VisitState;
use chrono::NaiveDate;

/// What a diagnosis records.
pub(super) struct Findings<'a> {
    pub fault_reproduced: bool,
    pub cause: &'a str,
    pub parts: &'a [String],
    pub decision: RepairDecision,
    pub fault_code: Option<&'a str>,
    pub note: Option<&'a str>,
}

pub(super) fn record_diagnosis(g: Given, f: Findings) -> Result<Vec<EventKind>> {
    require_protection(g.state, g.playbook)?;
    let fault = f
        .fault_code
        .map(|c| require_catalogued_fault(g.playbook, c))
        .transpose()?;
    // The catalogue's fault names the cause when no words are given.
    let cause = match fault {
        Some(code) if f.cause.trim().is_empty() => code.name.zh.clone(),
        _ => {
            non_empty("cause", f.cause)?;
            f.cause.to_string()
        }
    };
    if f.decision == RepairDecision::TakeBack {
        require_trade_takes_back(g.playbook)?;
    }
    Ok(vec![EventKind::DiagnosisRecorded {
        fault_reproduced: f.fault_reproduced,
        cause,
        parts: f.parts.to_vec(),
        decision: f.decision,
        fault_code: f.fault_code.map(str::to_string),
        note: f
            .note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
    }])
}

/// STANDARDS §2.11 (故障诊断): "record cause" — from the trade's fault
/// catalogue when a code is given: a code not in it is refused, naming the
/// faults it has.
fn require_catalogued_fault<'p>(pb: &'p Playbook, code: &str) -> Result<&'p FaultCode> {
    pb.fault_codes.iter().find(|c| c.id == code).ok_or_else(|| {
        let en: Vec<&str> = pb.fault_codes.iter().map(|c| c.name.en.as_str()).collect();
        let zh: Vec<&str> = pb.fault_codes.iter().map(|c| c.name.zh.as_str()).collect();
        WorkflowError::InvalidInput {
            field: "fault_code".into(),
            problem: if en.is_empty() {
                Text::new(
                    "this trade has no fault catalogue: describe the cause instead",
                    "本行业没有故障类型目录，请直接描述故障原因",
                )
            } else {
                Text::new(
                    format!("not in this trade's fault catalogue ({})", en.join(", ")),
                    format!("不在本行业的故障类型目录中（目录：{}）", zh.join("、")),
                )
            },
        }
    })
}

/// STANDARDS §2.11 (故障诊断): "reproduce the fault with the customer" —
/// where the trade's playbook asks for it, a repair on site follows a
/// diagnosis that reproduced the fault (one that did not is recorded again
/// once it has been reproduced).
pub(super) fn require_fault_reproduced(g: Given) -> Result<()> {
    let unreproduced = g
        .state
        .diagnosis
        .as_ref()
        .is_some_and(|d| !d.fault_reproduced && d.decision == RepairDecision::FixOnSite);
    if g.playbook.rules.reproduce_before_repair && unreproduced {
        Err(out_of_order(
            g.command,
            g.state,
            "reproduce the fault with the customer and record the diagnosis again",
        ))
    } else {
        Ok(())
    }
}

pub(super) fn warn_data_risk() -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::DataRiskWarned])
}

pub(super) fn sign_backup_consent(g: Given, strokes: &[Stroke]) -> Result<Vec<EventKind>> {
    require_data_risk_warned(g.state)?;
    require_signature(strokes)?;
    Ok(vec![EventKind::BackupConsentSigned {
        strokes: strokes.to_vec(),
        strokes_digest: strokes_digest(strokes),
    }])
}

/// STANDARDS §2.11 (故障诊断): "before disk/OS work: warn of data loss and get
/// a signed backup consent" — the warning comes before the consent.
fn require_data_risk_warned(s: &VisitState) -> Result<()> {
    if s.data_risk_warned {
        Ok(())
    } else {
        Err(WorkflowError::BackupConsentRequired { warned: false })
    }
}

/// STANDARDS §2.11 (故障诊断): "get a signed backup consent (enforce: no
/// disk/OS work without it)" — where the trade asks for the consent. Disk/OS
/// work is what the work is, not only the kind the technician picked: work
/// recorded as a repair under a quote with an OS reinstall, or fitting a
/// disk, is disk/OS work.
pub(super) fn require_backup_consent(
    s: &VisitState,
    pb: &Playbook,
    kind: WorkKind,
    parts_used: &[PartUsed],
) -> Result<()> {
    if !pb.rules.data_risk_consent || s.backup_consent_digest.is_some() {
        return Ok(());
    }
    let quoted = s
        .quote
        .as_ref()
        .is_some_and(|q| q.lines.iter().any(|l| pb.touches_data(&l.item)));
    let fitted = parts_used.iter().any(|p| pb.touches_data(&p.item));
    if kind == WorkKind::DiskOrOs || quoted || fitted {
        Err(WorkflowError::BackupConsentRequired {
            warned: s.data_risk_warned,
        })
    } else {
        Ok(())
    }
}

pub(super) fn offer_loaner(g: Given, accepted: bool) -> Result<Vec<EventKind>> {
    require_take_back_decided(g)?;
    Ok(vec![EventKind::LoanerOffered { accepted }])
}

pub(super) fn record_unit_appearance(g: Given, description: &str) -> Result<Vec<EventKind>> {
    require_take_back_decided(g)?;
    non_empty("description", description)?;
    Ok(vec![EventKind::UnitAppearanceRecorded {
        description: description.to_string(),
    }])
}

pub(super) fn sign_custody_receipt(g: Given, strokes: &[Stroke]) -> Result<Vec<EventKind>> {
    require_take_back_decided(g)?;
    require_signature(strokes)?;
    Ok(vec![EventKind::CustodyReceiptSigned {
        strokes: strokes.to_vec(),
        strokes_digest: strokes_digest(strokes),
    }])
}

pub(super) fn take_back(g: Given, return_by: NaiveDate) -> Result<Vec<EventKind>> {
    require_take_back_decided(g)?;
    require_take_back_complete(g.state)?;
    require_return_date_ahead(return_by, g.ctx.today())?;
    Ok(vec![EventKind::TakenBack { return_by }])
}

/// STANDARDS §2.11 (拉修): "agree a return date" — one that is still ahead.
fn require_return_date_ahead(return_by: NaiveDate, today: NaiveDate) -> Result<()> {
    if return_by < today {
        Err(WorkflowError::InvalidInput {
            field: "return_by".into(),
            problem: Text::new(
                "the agreed return date is in the past",
                "约定的归还日期已过",
            ),
        })
    } else {
        Ok(())
    }
}

/// STANDARDS §2.11 (拉修): take-back is a decision of the diagnosis, in a
/// trade that takes units back.
fn require_take_back_decided(g: Given) -> Result<()> {
    require_trade_takes_back(g.playbook)?;
    match &g.state.diagnosis {
        Some(d) if d.decision == RepairDecision::TakeBack => Ok(()),
        _ => Err(out_of_order(
            g.command,
            g.state,
            "record a diagnosis that decides to take the unit back",
        )),
    }
}

/// STANDARDS §2.11 (拉修): only a trade whose playbook takes units back does.
fn require_trade_takes_back(pb: &Playbook) -> Result<()> {
    if pb.rules.take_back {
        Ok(())
    } else {
        Err(WorkflowError::InvalidInput {
            field: "decision".into(),
            problem: Text::new("this trade does not take units back", "本行业不提供拉修"),
        })
    }
}

/// STANDARDS §2.11 (拉修): "no take-back without the loaner offered or
/// declined, the appearance record and the customer's signed receipt".
fn require_take_back_complete(s: &VisitState) -> Result<()> {
    let t = &s.take_back;
    if t.loaner_offered.is_none() || t.appearance.is_none() || t.receipt_digest.is_none() {
        Err(WorkflowError::TakeBackIncomplete {
            loaner: t.loaner_offered.is_some(),
            appearance: t.appearance.is_some(),
            receipt: t.receipt_digest.is_some(),
        })
    } else {
        Ok(())
    }
}

/// STANDARDS §2.11 (故障诊断): "record cause and parts" first — a missing
/// part is one the diagnosis named.
fn require_diagnosis(g: Given) -> Result<()> {
    if g.state.diagnosis.is_none() {
        Err(out_of_order(g.command, g.state, "record the diagnosis"))
    } else {
        Ok(())
    }
}

pub(super) fn report_missing_part(
    g: Given,
    part: &str,
    resolution: &MissingPartResolution,
) -> Result<Vec<EventKind>> {
    non_empty("part", part)?;
    require_diagnosis(g)?;
    if let MissingPartResolution::NewVisit { window } = resolution {
        valid_future_window("resolution.window", window, g.ctx.now)?;
        require_agreement_on_site(g.state)?;
    }
    Ok(vec![EventKind::PartMissing {
        part: part.to_string(),
        resolution: resolution.clone(),
    }])
}
