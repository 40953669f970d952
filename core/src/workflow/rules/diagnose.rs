//! Step 11, Listen, then diagnose (故障诊断), STANDARDS §2.11: the cause and
//! parts; the data-risk warning and signed backup consent before disk/OS
//! work; take-back (拉修) with the loaner offered, the unit's appearance
//! recorded and the customer's signed receipt; a missing part.

use super::protect::require_protection;
use super::shared::{
    non_empty, out_of_order, require_agreement_on_site, require_signature, valid_future_window,
};
use super::{Given, Result};
use crate::playbook::{Playbook, WorkKind};
use crate::workflow::command::{MissingPartResolution, RepairDecision};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::signature::{strokes_digest, Stroke};
use crate::workflow::state::VisitState;
use chrono::NaiveDate;

pub(super) fn record_diagnosis(
    g: Given,
    fault_reproduced: bool,
    cause: &str,
    parts: &[String],
    decision: RepairDecision,
) -> Result<Vec<EventKind>> {
    require_protection(g.state, g.playbook)?;
    non_empty("cause", cause)?;
    if decision == RepairDecision::TakeBack {
        require_trade_takes_back(g.playbook)?;
    }
    Ok(vec![EventKind::DiagnosisRecorded {
        fault_reproduced,
        cause: cause.to_string(),
        parts: parts.to_vec(),
        decision,
    }])
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
/// disk/OS work without it)" — where the trade asks for the consent.
pub(super) fn require_backup_consent(s: &VisitState, pb: &Playbook, kind: WorkKind) -> Result<()> {
    if kind == WorkKind::DiskOrOs && pb.rules.data_risk_consent && s.backup_consent_digest.is_none()
    {
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
            problem: "the agreed return date is in the past".into(),
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
            problem: "this trade does not take units back".into(),
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
