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

use crate::canonical;
use crate::ids::{AssignmentId, DeviceId, TradeId, VisitId};
use crate::location::GeoFix;
use crate::quote::Quote;
use crate::workflow::command::{PartUsed, PaymentMethod, ReceiptRecord, WorkKind};
use crate::workflow::state::VisitState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version of the report format; bumped with any change to `Report`.
pub const REPORT_FORMAT: u32 = 1;

/// One point of a signature stroke, in device-independent units, with its
/// time offset from the start of the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrokePoint {
    pub x: i32,
    pub y: i32,
    pub t_ms: u32,
}

/// One continuous pen-down stroke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stroke {
    pub points: Vec<StrokePoint>,
}

/// Whether the strokes are a plausible signature: at least one stroke with
/// two or more points, time offsets non-decreasing within each stroke.
pub fn strokes_are_signature(strokes: &[Stroke]) -> bool {
    strokes.iter().any(|s| s.points.len() >= 2)
        && strokes
            .iter()
            .all(|s| s.points.windows(2).all(|w| w[0].t_ms <= w[1].t_ms))
}

/// SHA-256 over the canonical JSON of the strokes.
pub fn strokes_digest(strokes: &[Stroke]) -> String {
    canonical::digest(&strokes).unwrap_or_default()
}

/// The customer's ratings, 1 (poor) to 5 (excellent). They exist only inside
/// a customer sign-off: no other command or event carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratings {
    /// Repair (or service) quality.
    pub quality: u8,
    /// Service attitude.
    pub attitude: u8,
}

impl Ratings {
    pub fn in_range(&self) -> bool {
        (1..=5).contains(&self.quality) && (1..=5).contains(&self.attitude)
    }
    /// Satisfied when both ratings are 4 or 5.
    pub fn satisfied(&self) -> bool {
        self.quality >= 4 && self.attitude >= 4
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportWork {
    pub description: String,
    pub kind: WorkKind,
    pub parts_used: Vec<PartUsed>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPayment {
    pub amount: i64,
    pub method: PaymentMethod,
    pub receipt: ReceiptRecord,
}

/// What the customer signs. Money in minor units; no floats anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub format: u32,
    pub visit_id: Option<VisitId>,
    pub assignment_id: Option<AssignmentId>,
    pub assignment_version: u64,
    pub trade: Option<TradeId>,
    pub report_version: u32,
    pub trip: u32,
    pub arrived_at: Option<DateTime<Utc>>,
    pub fault_cause: Option<String>,
    pub work: Vec<ReportWork>,
    pub hidden_faults: Vec<String>,
    pub test_passed: Option<bool>,
    pub quote: Option<Quote>,
    pub quote_accepted: bool,
    /// The latest payment.
    pub payment: Option<ReportPayment>,
    /// Everything the customer paid on this visit (a reopened report keeps earlier payments).
    pub paid_total: i64,
    pub ratings: Option<Ratings>,
    pub comment: Option<String>,
    pub consent_digest: String,
}

impl Report {
    /// The report of `state` as it stands, with the customer's input. The
    /// signing screen shows `digest()` of exactly this (with the ratings and
    /// comment the customer entered) and passes it back as `shown_digest`;
    /// the time of signing lives in the evidence record, not the report.
    pub fn of(
        state: &VisitState,
        ratings: Option<Ratings>,
        comment: Option<String>,
        consent_text: &str,
    ) -> Report {
        Report {
            format: REPORT_FORMAT,
            visit_id: state.visit_id,
            assignment_id: state.assignment.as_ref().map(|a| a.id.clone()),
            assignment_version: state.assignment_version(),
            trade: state.assignment.as_ref().map(|a| a.trade.clone()),
            report_version: state.report_version,
            trip: state.trip,
            arrived_at: state.arrival.as_ref().map(|a| a.at),
            fault_cause: state.diagnosis.as_ref().map(|d| d.cause.clone()),
            work: state
                .work
                .iter()
                .map(|w| ReportWork {
                    description: w.description.clone(),
                    kind: w.kind,
                    parts_used: w.parts_used.clone(),
                    at: w.at,
                })
                .collect(),
            hidden_faults: state.hidden_faults.clone(),
            test_passed: state.test_run.as_ref().map(|t| t.passed),
            quote: state.quote.clone(),
            quote_accepted: state.accepted_quote().is_some(),
            payment: state.payment.as_ref().map(|p| ReportPayment {
                amount: p.amount,
                method: p.method,
                receipt: p.receipt.clone(),
            }),
            paid_total: state.paid_total,
            ratings,
            comment,
            consent_digest: canonical::sha256_hex(consent_text.as_bytes()),
        }
    }

    pub fn canonical_json(&self) -> String {
        canonical::to_canonical_json(self).unwrap_or_default()
    }

    /// SHA-256 of the canonical report.
    pub fn digest(&self) -> String {
        canonical::sha256_hex(self.canonical_json().as_bytes())
    }
}

/// The first 8 hex characters of a digest, as shown on the signing screen.
pub fn short_digest(digest: &str) -> &str {
    &digest[..digest.len().min(8)]
}

/// The sign-off evidence record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOffEvidence {
    pub report_digest: String,
    pub strokes_digest: String,
    pub consent_digest: String,
    pub device_id: DeviceId,
    pub signed_at: DateTime<Utc>,
    pub location: Option<GeoFix>,
    /// Digest of this device's previous evidence record (hash chain).
    pub previous_evidence_digest: Option<String>,
    /// Optional signature over `digest()` by a key in the platform keystore.
    #[serde(default)]
    pub device_signature: Option<String>,
}

impl SignOffEvidence {
    /// Digest of the record without the device signature (what the device key signs,
    /// and what the next record chains to).
    pub fn digest(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.device_signature = None;
        canonical::digest(&unsigned).unwrap_or_default()
    }
}

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

/// Recomputes the report from the state and checks it against the signed digest.
pub fn verify(state: &VisitState) -> Result<(), SignOffProblem> {
    let signed = state.sign_off.as_ref().ok_or(SignOffProblem::NotSigned)?;
    if !signed.strokes_match {
        return Err(SignOffProblem::StrokesChanged);
    }
    let mut report = Report::of(state, Some(signed.ratings), signed.comment.clone(), "");
    report.consent_digest = signed.evidence.consent_digest.clone();
    report.report_version = signed.report_version;
    report.assignment_version = signed.assignment_version;
    let now = report.digest();
    if now != signed.evidence.report_digest {
        return Err(SignOffProblem::ReportChanged {
            signed: signed.evidence.report_digest.clone(),
            now,
        });
    }
    Ok(())
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
