//! The report the customer signs (STANDARDS §2.16): a canonical
//! serialisation of the visit's outcome built from the visit state. Its
//! SHA-256 is the report digest the sign-off evidence binds.

use super::command::{PartUsed, PaymentMethod, ReceiptRecord, WorkKind};
use super::signature::Ratings;
use super::state::VisitState;
use crate::canonical;
use crate::ids::{AssignmentId, TradeId, VisitId};
use crate::quote::Quote;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version of the report format; bumped with any change to `Report`.
/// Format 3 adds the version of the trade's playbook the visit was walked
/// with (a company's own version, or the shipped one); format 2 added the
/// photos by digest; formats 1 (no `photos` key) and 2 (no
/// `playbook_version`) are still rebuilt to verify reports signed in them
/// (`Report::of_format`).
pub const REPORT_FORMAT: u32 = 3;

/// The report formats this build can rebuild, newest first.
pub const REPORT_FORMATS: [u32; 3] = [3, 2, 1];

/// A photo in the signed report (format 2): the moment and the SHA-256 of
/// the bytes, so a photo replaced after signing breaks the signature. A
/// moment whose photo could not be taken has no digest and says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPhoto {
    pub moment: String,
    pub digest: Option<String>,
    pub not_taken_reason: Option<String>,
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
    /// Format 2: every photo (and every photo that could not be taken), in
    /// the order recorded. Absent in format 1, so its digests are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<ReportPhoto>>,
    /// Format 3: the version of the trade's playbook the visit was walked
    /// with (`VisitState::playbook_version`): the standard the customer was
    /// served under. Absent in formats 1 and 2, and for a visit recorded
    /// before versions were kept (the shipped playbook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook_version: Option<i64>,
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
        Report::of_format(REPORT_FORMAT, state, ratings, comment, consent_text)
    }

    /// The report of `state` in an earlier or the current `format` (one of
    /// `REPORT_FORMATS`): what verification rebuilds for a report signed then.
    pub fn of_format(
        format: u32,
        state: &VisitState,
        ratings: Option<Ratings>,
        comment: Option<String>,
        consent_text: &str,
    ) -> Report {
        Report {
            format,
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
            photos: (format >= 2).then(|| report_photos(state)),
            playbook_version: state.playbook_version.filter(|_| format >= 3),
        }
    }

    pub fn canonical_json(&self) -> String {
        canonical::to_canonical_json(self).unwrap_or_default()
    }

    /// SHA-256 of the canonical report.
    pub fn digest(&self) -> String {
        canonical::digest(self).unwrap_or_default()
    }
}

/// The photos of the report: each taken photo by digest, then each moment
/// recorded as impossible, in the order recorded.
fn report_photos(state: &VisitState) -> Vec<ReportPhoto> {
    state
        .photos
        .iter()
        .map(|p| ReportPhoto {
            moment: p.moment.clone(),
            digest: Some(p.digest.clone()),
            not_taken_reason: None,
        })
        .chain(state.photos_not_taken.iter().map(|p| ReportPhoto {
            moment: p.moment.clone(),
            digest: None,
            not_taken_reason: Some(p.reason.clone()),
        }))
        .collect()
}
