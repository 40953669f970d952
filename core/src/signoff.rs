//! Customer sign-off (签字/征询意见) bound to the exact report.
//!
//! The report the customer signs is a canonical serialisation of the visit's
//! outcome (assignment and version, diagnosis, work, parts, quote lines,
//! totals, payment, ratings, consent text digest, times). Its SHA-256 is the
//! report digest; the first 8 hex characters are shown on the signing screen.
//! The evidence record binds that digest to the strokes, the consent text,
//! the device, the time and place, and the device's previous evidence record
//! (a per-device hash chain). Any later change to the report changes the
//! digest, so verification fails. This is a simple electronic signature made
//! tamper-evident (ESIGN/UETA style), not an eIDAS advanced signature.
//!
//! The report and the signature vocabulary live in the workflow
//! (`workflow::report`, `workflow::signature`) and are re-exported here; this
//! module owns the verification.

use crate::messages::Text;
pub use crate::workflow::report::{
    Report, ReportPayment, ReportPhoto, ReportWork, REPORT_FORMAT, REPORT_FORMATS,
};
pub use crate::workflow::signature::{
    short_digest, strokes_are_signature, strokes_digest, Ratings, SignOffEvidence, Stroke,
    StrokePoint,
};
use crate::workflow::state::VisitState;
use serde::{Deserialize, Serialize};

/// Why a sign-off does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum SignOffProblem {
    #[error("the visit has no customer sign-off")]
    NotSigned,
    #[error("the report changed after signing: signed {signed}, now {now}")]
    ReportChanged { signed: String, now: String },
    #[error("the strokes do not match their digest")]
    StrokesChanged,
    #[error("the evidence chain is broken: expected previous {expected:?}, found {found:?}")]
    ChainBroken {
        expected: Option<String>,
        found: Option<String>,
    },
}

impl SignOffProblem {
    /// Each kind of problem, details empty: what [`text_of_stored`](Self::text_of_stored)
    /// recognises an earlier build's sentence by.
    const KINDS: [SignOffProblem; 4] = [
        Self::NotSigned,
        Self::ReportChanged {
            signed: String::new(),
            now: String::new(),
        },
        Self::StrokesChanged,
        Self::ChainBroken {
            expected: None,
            found: None,
        },
    ];

    /// The kind of problem in Chinese (the start of [`text`](Self::text)'s).
    fn kind_zh(&self) -> &'static str {
        match self {
            Self::NotSigned => "该次上门没有客户签字",
            Self::ReportChanged { .. } => "签字后报告被改动",
            Self::StrokesChanged => "签名笔迹与其摘要不符",
            Self::ChainBroken { .. } => "证据链断裂",
        }
    }

    /// The problem as the console shows it, in both languages; a digest
    /// shortened to the 8 characters the signing screen showed.
    pub fn text(&self) -> Text {
        let kind = self.kind_zh();
        match self {
            Self::NotSigned | Self::StrokesChanged => Text::new(self.to_string(), kind),
            Self::ReportChanged { signed, now } => {
                let (signed, now) = (short_digest(signed), short_digest(now));
                Text::new(
                    format!("the report changed after signing: signed {signed}, now {now}"),
                    format!("{kind}：签署时摘要 {signed}，现为 {now}"),
                )
            }
            Self::ChainBroken { expected, found } => {
                let (expected, found) = (
                    expected.as_deref().map(short_digest),
                    found.as_deref().map(short_digest),
                );
                Text::new(
                    format!(
                        "the evidence chain is broken: expected previous {}, found {}",
                        expected.unwrap_or("none"),
                        found.unwrap_or("none")
                    ),
                    format!(
                        "{kind}：{}，{}",
                        expected.map_or("应为该设备的第一条记录".to_string(), |e| {
                            format!("应接在 {e} 之后")
                        }),
                        found.map_or("实际未接任何记录".to_string(), |f| {
                            format!("实际接在 {f} 之后")
                        }),
                    ),
                )
            }
        }
    }

    /// The problem as a store keeps it (its JSON), for [`text_of_stored`](Self::text_of_stored).
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a sign-off problem always encodes")
    }

    /// A stored problem in both languages: the JSON [`to_stored`](Self::to_stored)
    /// writes, or the English sentence builds before it stored (its Chinese
    /// then names the kind of problem, without the digests).
    pub fn text_of_stored(stored: &str) -> Text {
        if let Ok(problem) = serde_json::from_str::<SignOffProblem>(stored) {
            return problem.text();
        }
        let zh = Self::KINDS
            .iter()
            .find(|kind| {
                let sentence = kind.to_string();
                let start = sentence.split(':').next().unwrap_or_default();
                stored.starts_with(start)
            })
            .map_or("签字核验未通过", Self::kind_zh);
        Text::new(stored, zh)
    }
}

/// Recomputes the report from the state and checks it against the signed
/// digest. The report is rebuilt in each format this build knows (newest
/// first): a report signed in format 1 verifies unchanged, and one signed in
/// format 2 — which names its format and its photos' digests — matches no
/// rebuild once a photo is replaced.
pub fn verify(state: &VisitState) -> Result<(), SignOffProblem> {
    let signed = state.sign_off.as_ref().ok_or(SignOffProblem::NotSigned)?;
    if !signed.strokes_match {
        return Err(SignOffProblem::StrokesChanged);
    }
    let rebuilt = |format: u32| {
        let mut report = Report::of_format(
            format,
            state,
            Some(signed.ratings),
            signed.comment.clone(),
            "",
        );
        report.consent_digest = signed.evidence.consent_digest.clone();
        report.report_version = signed.report_version;
        report.assignment_version = signed.assignment_version;
        report.digest()
    };
    if REPORT_FORMATS
        .iter()
        .any(|f| rebuilt(*f) == signed.evidence.report_digest)
    {
        return Ok(());
    }
    Err(SignOffProblem::ReportChanged {
        signed: signed.evidence.report_digest.clone(),
        now: rebuilt(REPORT_FORMAT),
    })
}

/// Checks a device's evidence records form an unbroken chain, in order.
pub fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a SignOffEvidence>,
) -> Result<(), SignOffProblem> {
    let mut previous: Option<String> = None;
    for r in records {
        if r.previous_evidence_digest != previous {
            return Err(SignOffProblem::ChainBroken {
                expected: previous,
                found: r.previous_evidence_digest.clone(),
            });
        }
        previous = Some(r.digest());
    }
    Ok(())
}
