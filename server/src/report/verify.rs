//! Whether a report still is what the customer signed: the report is rebuilt
//! from the visit's stored events and its digest recomputed (core's
//! `signoff::verify`), so a fact changed in the database after signing
//! shows as broken. A declined signature is its own outcome.

use doorstep_core::messages::Text;
use doorstep_core::signoff::{self, SignOffProblem};
use doorstep_core::VisitState;
use serde::Serialize;

/// The verification of a visit's report, recomputed from its stored facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Verification {
    /// The stored facts hash to the digest the customer signed.
    Verified { digest: String },
    /// The customer signed, but the facts no longer match what was signed.
    Broken { digest: String, problem: Text },
    /// The customer declined to sign the report with this digest.
    Declined { digest: String, reason: String },
    /// Neither signed nor declined.
    Unsigned,
}

impl Verification {
    /// Recomputes the verification of a replayed visit.
    pub fn of(state: &VisitState) -> Verification {
        if let Some(signed) = &state.sign_off {
            let digest = signed.evidence.report_digest.clone();
            return match signoff::verify(state) {
                Ok(()) => Verification::Verified { digest },
                Err(problem) => Verification::Broken {
                    digest,
                    problem: describe(&problem),
                },
            };
        }
        match &state.declined {
            Some(d) => Verification::Declined {
                digest: d.report_digest.clone(),
                reason: d.reason.clone(),
            },
            None => Verification::Unsigned,
        }
    }

    /// The wire name of the status (`verified`, `broken`, `declined`, `unsigned`).
    pub fn code(&self) -> &'static str {
        match self {
            Verification::Verified { .. } => "verified",
            Verification::Broken { .. } => "broken",
            Verification::Declined { .. } => "declined",
            Verification::Unsigned => "unsigned",
        }
    }

    /// The report digest the signature (or the refusal) names.
    pub fn digest(&self) -> Option<&str> {
        match self {
            Verification::Verified { digest }
            | Verification::Broken { digest, .. }
            | Verification::Declined { digest, .. } => Some(digest),
            Verification::Unsigned => None,
        }
    }

    /// What the status means for the reader, in both languages.
    pub fn label(&self) -> Text {
        match self {
            Verification::Verified { .. } => Text::new(
                "Verified: the stored record matches what the customer signed",
                "已验证：存档记录与客户签字时的报告一致",
            ),
            Verification::Broken { .. } => Text::new(
                "Broken: the stored record no longer matches what the customer signed",
                "验证失败：存档记录与客户签字时的报告不一致",
            ),
            Verification::Declined { .. } => Text::new(
                "Declined: the customer did not sign this report",
                "客户拒签：客户未在本报告上签字",
            ),
            Verification::Unsigned => Text::new(
                "Not signed: the visit has no customer signature",
                "未签字：本次上门没有客户签字",
            ),
        }
    }
}

/// A verification problem in both languages.
pub fn describe(problem: &SignOffProblem) -> Text {
    match problem {
        SignOffProblem::NotSigned => {
            Text::new("the visit has no customer sign-off", "本次上门没有客户签字")
        }
        SignOffProblem::ReportChanged { .. } => {
            Text::new(problem.to_string(), "签字后报告内容被改动，摘要不再一致")
        }
        SignOffProblem::StrokesChanged => Text::new(problem.to_string(), "签名笔迹与其摘要不一致"),
        SignOffProblem::ChainBroken { .. } => Text::new(problem.to_string(), "证据链断开"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visit_neither_signed_nor_declined_is_unsigned() {
        let v = Verification::of(&VisitState::default());
        assert_eq!(v, Verification::Unsigned);
        assert_eq!((v.code(), v.digest()), ("unsigned", None));
    }
}
