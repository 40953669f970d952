//! Photos as evidence (拍照留证), the trade playbook's photo moments: a photo
//! of a moment is recorded by its SHA-256 digest (the bytes stay in the
//! device's blob area), or recorded as impossible with a reason; a required
//! moment of a step must be one or the other before the visit moves past
//! that step. Any step at the door or inside may take a photo.

use super::shared::non_empty;
use super::{Given, Result};
use crate::messages::Text;
use crate::playbook::{PhotoMoment, Playbook, Step};
use crate::workflow::command::VisitCommand;
use crate::workflow::command_table::{row_of, Issuer};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

/// Whether `digest` is a SHA-256 in lower-case hex (64 characters).
pub fn is_sha256_hex(digest: &str) -> bool {
    digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(super) fn take_photo(
    g: Given,
    moment: &str,
    digest: &str,
    size_bytes: u64,
    width: u32,
    height: u32,
) -> Result<Vec<EventKind>> {
    require_known_moment(g.playbook, moment)?;
    if !is_sha256_hex(digest) {
        return Err(invalid(
            "digest",
            "must be the SHA-256 of the photo's bytes: 64 lower-case hex characters",
            "应为照片内容的SHA-256摘要（64个小写十六进制字符）",
        ));
    }
    // Size and dimensions (at least 1) are the command's bounds, checked
    // for every command before any rule (`workflow::bounds`).
    Ok(vec![EventKind::PhotoTaken {
        moment: moment.to_string(),
        digest: digest.to_string(),
        size_bytes,
        width,
        height,
        technician: g
            .state
            .assignment
            .as_ref()
            .and_then(|a| a.technician.clone()),
    }])
}

pub(super) fn record_photo_not_taken(
    g: Given,
    moment: &str,
    reason: &str,
) -> Result<Vec<EventKind>> {
    require_known_moment(g.playbook, moment)?;
    non_empty("reason", reason)?;
    if g.state.photos.iter().any(|p| p.moment == moment) {
        return Err(invalid(
            "moment",
            "this moment already has a photo: nothing to explain",
            "这个环节已经拍过照片，无需说明原因",
        ));
    }
    Ok(vec![EventKind::PhotoNotTaken {
        moment: moment.to_string(),
        reason: reason.to_string(),
    }])
}

fn invalid(field: &str, en: &str, zh: &str) -> WorkflowError {
    WorkflowError::InvalidInput {
        field: field.into(),
        problem: Text::new(en, zh),
    }
}

/// A photo names one of the trade's photo moments.
fn require_known_moment(pb: &Playbook, moment: &str) -> Result<()> {
    if pb.photo_moment(moment).is_some() {
        Ok(())
    } else {
        let names = |pick: fn(&PhotoMoment) -> &str, sep: &str| {
            pb.photos.iter().map(pick).collect::<Vec<_>>().join(sep)
        };
        Err(invalid(
            "moment",
            &format!(
                "{moment:?} is not a photo moment of this trade (known: {})",
                names(|m| m.name.en.as_str(), ", ")
            ),
            &format!(
                "不是本业务的拍照环节（可选：{}）",
                names(|m| m.name.zh.as_str(), "、")
            ),
        ))
    }
}

/// Whether the visit went through `step` (a photo of a step never walked —
/// the repair of a visit whose quote was refused — is not missing).
fn step_walked(s: &VisitState, step: Step) -> bool {
    match step {
        Step::Diagnose => s.diagnosis.is_some(),
        Step::Inspect => !s.inspected.is_empty(),
        Step::Work => !s.work.is_empty(),
        Step::Test => s.test_run.is_some() || s.untested_callback.is_some(),
        Step::Arrive => s.arrival.is_some(),
        Step::Enter => s.entered,
        _ => true,
    }
}

/// The required moments of steps before `before` that the visit walked and
/// that have neither a photo nor a recorded reason.
pub fn missing_required_photos<'a>(
    s: &VisitState,
    pb: &'a Playbook,
    before: Step,
) -> Vec<&'a PhotoMoment> {
    pb.photos
        .iter()
        .filter(|m| m.required && m.step < before && step_walked(s, m.step))
        .filter(|m| {
            !s.photos.iter().any(|p| p.moment == m.id)
                && !s.photos_not_taken.iter().any(|p| p.moment == m.id)
        })
        .collect()
}

/// Trade playbook, photo moments (e.g. appliance repair: nameplate and the
/// fault before repair at diagnosis, the repair after the work): "a required
/// photo missing refuses the step it belongs to" — a technician command of a
/// later step waits until each required photo of the steps walked before it
/// is taken, or recorded as impossible with a reason.
pub(in crate::workflow) fn require_photos_of_earlier_steps(
    s: &VisitState,
    cmd: &VisitCommand,
    pb: &Playbook,
) -> Result<()> {
    let row = row_of(cmd);
    let Some(step) = row.step else {
        return Ok(());
    };
    if row.issuer != Issuer::Technician {
        return Ok(());
    }
    let missing = missing_required_photos(s, pb, step);
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let of_step: Vec<&&PhotoMoment> = missing.iter().filter(|m| m.step == first.step).collect();
    Err(WorkflowError::PhotoRequired {
        step: first.step,
        moments: of_step.iter().map(|m| m.id.clone()).collect(),
        names: of_step.iter().map(|m| m.name.clone()).collect(),
    })
}
