//! Step 16, Customer sign-off (签字/征询意见), STANDARDS §2.16: ratings and
//! signature bound to the exact report the screen showed; "declined to sign"
//! is a valid outcome; a signed report is changed only by reopening it.

use super::shared::{non_empty, out_of_order, require_signature};
use super::{Given, Result};
use crate::playbook::{Playbook, Step};
use crate::workflow::command::VisitCommand;
use crate::workflow::command_table::row_of;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::report::Report;
use crate::workflow::signature::{short_digest, strokes_digest, Ratings, SignOffEvidence, Stroke};
use crate::workflow::state::VisitState;

pub(super) fn sign_off(
    g: Given,
    ratings: &Ratings,
    comment: &Option<String>,
    strokes: &[Stroke],
    consent_text: &str,
    shown_digest: &Option<String>,
) -> Result<Vec<EventKind>> {
    let (s, ctx) = (g.state, g.ctx);
    require_ready_to_sign(s, g.playbook)?;
    require_valid_ratings(ratings)?;
    require_signature(strokes)?;
    non_empty("consent_text", consent_text)?;
    let mut report = Report::of(s, Some(*ratings), comment.clone(), consent_text);
    if let Some(recorded) = &ctx.recorded_consent_digest {
        report.consent_digest = recorded.clone();
    }
    let digest = report.digest();
    require_shown_digest_matches(shown_digest.as_deref(), &digest)?;
    let evidence = SignOffEvidence {
        report_digest: digest,
        strokes_digest: strokes_digest(strokes),
        consent_digest: report.consent_digest.clone(),
        device_id: ctx.device_id.clone(),
        signed_at: ctx.now,
        location: ctx.fix(),
        previous_evidence_digest: ctx.previous_evidence_digest.clone(),
        device_signature: None,
    };
    Ok(vec![EventKind::CustomerSignedOff {
        report_version: s.report_version,
        ratings: *ratings,
        comment: comment.clone(),
        strokes: strokes.to_vec(),
        evidence,
    }])
}

/// STANDARDS §2.16 (签字): "ratings exist only inside a customer sign-off" —
/// they come in only with the signature, as whole numbers from 1 to 5.
fn require_valid_ratings(ratings: &Ratings) -> Result<()> {
    if ratings.in_range() {
        Ok(())
    } else {
        Err(WorkflowError::SignatureInvalid {
            problem: "ratings are whole numbers from 1 to 5".into(),
        })
    }
}

/// STANDARDS §2.16 (签字): "the signature is bound to the exact report" — the
/// report the signing screen showed (its digest) is the report signed now.
fn require_shown_digest_matches(shown: Option<&str>, digest: &str) -> Result<()> {
    match shown {
        Some(shown) if shown != digest => Err(WorkflowError::SignatureInvalid {
            problem: format!(
                "the report changed since the signing screen showed it (shown {}, now {}): show it again",
                short_digest(shown),
                short_digest(digest)
            ),
        }),
        _ => Ok(()),
    }
}

pub(super) fn decline_signature(g: Given, reason: &str) -> Result<Vec<EventKind>> {
    let s = g.state;
    require_ready_to_sign(s, g.playbook)?;
    non_empty("reason", reason)?;
    let report = Report::of(s, None, None, "");
    Ok(vec![EventKind::SignatureDeclined {
        report_version: s.report_version,
        report_digest: report.digest(),
        reason: reason.to_string(),
    }])
}

pub(super) fn reopen_report(g: Given, reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    require_report_closed_to_reopen(g)?;
    Ok(vec![EventKind::ReportReopened {
        reason: reason.to_string(),
        new_version: g.state.report_version + 1,
    }])
}

/// STANDARDS §2.16 (签字): "any change to a signed report breaks the
/// binding" — a signed (or declined) report changes only by reopening it as
/// a new version; an open report is simply changed.
fn require_report_closed_to_reopen(g: Given) -> Result<()> {
    if g.state.sign_off.is_none() && g.state.declined.is_none() {
        Err(out_of_order(
            g.command,
            g.state,
            "only a signed or declined report is reopened; this one can still change",
        ))
    } else {
        Ok(())
    }
}

/// STANDARDS §2.16 (签字): the customer signs the finished report — the work,
/// its test run (or callback), the clean-up and the payment recorded first.
fn require_ready_to_sign(s: &VisitState, pb: &Playbook) -> Result<()> {
    let mut missing = vec![];
    let refused = s.quote_refused;
    if pb.has(Step::Work) && s.work.is_empty() && !refused {
        missing.push("record the work".to_string());
    }
    if pb.has(Step::Test)
        && !refused
        && !s.work.is_empty()
        && s.test_run.is_none()
        && s.untested_callback.is_none()
    {
        missing.push("the test run (or a 2-hour callback)".to_string());
    }
    if pb.has(Step::CleanUp) && !s.cleaned_up && !refused {
        missing.push("the clean-up".to_string());
    }
    if pb.has(Step::Payment) && !refused {
        if let Some(q) = s.accepted_quote() {
            let paid = s.paid_total == q.customer_total;
            let settled = s.payment_refused || s.payment_deferred.is_some();
            if q.chargeable() && !paid && !settled {
                missing.push("collect the payment".to_string());
            }
        } else if s.quote.is_some() {
            missing.push("the customer's acceptance of the quote".to_string());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::NotReadyToSign { missing })
    }
}

/// STANDARDS §2.16 (签字): "any change to a signed report breaks the
/// binding" — a command that changes the report is refused once it is
/// signed (the command table's `changes_report` column); reopening the
/// report (a new version) comes first.
pub(in crate::workflow) fn require_report_unsigned(
    s: &VisitState,
    cmd: &VisitCommand,
) -> Result<()> {
    match &s.sign_off {
        Some(signed) if row_of(cmd).changes_report => Err(WorkflowError::ReportSigned {
            version: signed.report_version,
        }),
        _ => Ok(()),
    }
}
