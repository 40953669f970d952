//! What a report is made of: the closed visit replayed from its stored
//! events (the facts, not the listing row, so tampering with a stored fact
//! shows), the signature strokes from its sign-off event, the company, the
//! photos (and whether their bytes have arrived), the recomputed
//! verification and the verification page's address.

use crate::domain::projection::replay;
use crate::failure::{Failure, Fallible};
use crate::playbook_shelf::PlaybookShelf;
use crate::store::{blobs, technicians, visits, Tx};
use doorstep_core::messages::Text;
use doorstep_core::signoff::Stroke;
use doorstep_core::workflow::event::EventKind;
use doorstep_core::{Playbook, VisitEvent, VisitState};
use serde::Serialize;

use super::verify::Verification;

/// One photo of the visit as the report shows it (report format 2: the
/// photos helper's `photo_taken` events fill this; format-1 visits have none
/// and the section is left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportPhoto {
    /// The moment the playbook names (`nameplate`, `fault_before`, …).
    pub moment: String,
    /// The moment's name in the playbook (what the report prints).
    pub name: Text,
    /// SHA-256 of the image bytes, as signed.
    pub digest: String,
    /// The picture's size in pixels, as the phone recorded it.
    pub width: u32,
    pub height: u32,
    /// Whether the bytes have reached the server (a phone uploads photos
    /// after the events, so a report can be read before they arrive).
    pub stored: bool,
}

/// Everything one report shows, in no particular language yet.
#[derive(Debug, Clone)]
pub struct ReportDocument {
    pub visit_id: String,
    pub technician_id: String,
    /// The technician's name as the roster has it (what the customer reads;
    /// the id when the roster has none).
    pub technician_name: Option<String>,
    /// The company as the customer knows it.
    pub company: Text,
    pub service_number: Option<String>,
    /// The visit rebuilt from its stored events.
    pub state: VisitState,
    /// The strokes of the customer's signature (empty when not signed).
    pub strokes: Vec<Stroke>,
    pub photos: Vec<ReportPhoto>,
    pub verification: Verification,
    /// The page the QR code opens: `{base}/v/{visit}/{digest}`.
    pub verify_url: Option<String>,
    /// The playbook the visit was walked with (`playbook`).
    playbook: Option<Playbook>,
}

/// The address of a report's public verification page.
pub fn verify_url(base: &str, visit_id: &str, digest: &str) -> String {
    format!("{}/v/{visit_id}/{digest}", base.trim_end_matches('/'))
}

/// The signature strokes of the latest sign-off among the events.
pub fn signed_strokes(events: &[VisitEvent]) -> Vec<Stroke> {
    events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EventKind::CustomerSignedOff { strokes, .. } => Some(strokes.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Why a visit has no report yet, in both languages (409 `report_not_ready`).
pub fn not_closed(visit_id: &str) -> Failure {
    Failure::Conflict {
        code: "report_not_ready",
        message: format!(
            "visit {visit_id} is not closed yet: its service report exists once the technician closes the visit / 上门 {visit_id} 尚未结束：技师结束上门后才有服务报告。"
        ),
        details: Default::default(),
    }
}

impl ReportDocument {
    /// Builds the report of a replayed visit. `company_name` overrides the
    /// playbook's company (the `--company-name` setting); `base_url` is where
    /// customers reach this server (for the QR code).
    pub fn build(
        visit_id: &str,
        technician_id: &str,
        events: &[VisitEvent],
        state: VisitState,
        playbook: Option<Playbook>,
        company_name: Option<&str>,
        base_url: &str,
    ) -> ReportDocument {
        let walked = playbook;
        let playbook = walked.as_ref();
        let company = match (company_name, playbook) {
            (Some(name), _) => Text::new(name, name),
            (None, Some(pb)) => pb.company.name.clone(),
            (None, None) => Text::new("Doorstep", "Doorstep"),
        };
        let verification = Verification::of(&state);
        let verify_url = verification
            .digest()
            .map(|d| verify_url(base_url, visit_id, d));
        ReportDocument {
            visit_id: visit_id.to_string(),
            technician_id: technician_id.to_string(),
            technician_name: None,
            company,
            service_number: playbook.map(|pb| pb.company.service_number.clone()),
            strokes: signed_strokes(events),
            photos: state
                .photos
                .iter()
                .map(|p| ReportPhoto {
                    moment: p.moment.clone(),
                    name: playbook
                        .and_then(|pb| pb.photo_moment(&p.moment))
                        .map_or_else(|| Text::new(&p.moment, &p.moment), |m| m.name.clone()),
                    digest: p.digest.clone(),
                    width: p.width,
                    height: p.height,
                    stored: false,
                })
                .collect(),
            verification,
            verify_url,
            state,
            playbook: walked,
        }
    }

    /// The playbook the visit was walked with (labels of fees, faults and
    /// photo moments): its own version, the company's or the shipped one.
    pub fn playbook(&self) -> Option<&Playbook> {
        self.playbook.as_ref()
    }
}

/// Loads a closed visit's report from the database (404 for an unknown
/// visit, 409 `report_not_ready` before it closes).
pub async fn gather(
    tx: &mut dyn Tx,
    playbooks: &PlaybookShelf,
    visit_id: &str,
    company_name: Option<&str>,
    base_url: &str,
) -> Fallible<ReportDocument> {
    let row = visits::load_visit(tx, visit_id)
        .await?
        .ok_or_else(|| Failure::NotFound {
            what: "visit",
            id: visit_id.to_string(),
        })?;
    let (events, state) = replay(tx, visit_id).await?;
    if state.closed_at.is_none() {
        return Err(not_closed(visit_id));
    }
    let playbook = match &state.assignment {
        Some(a) => {
            playbooks
                .playbook(tx, a.trade.as_str(), state.playbook_version)
                .await?
        }
        None => None,
    };
    let mut doc = ReportDocument::build(
        visit_id,
        &row.technician_id,
        &events,
        state,
        playbook,
        company_name,
        base_url,
    );
    doc.technician_name = technicians::name(tx, &row.technician_id).await?;
    for photo in &mut doc.photos {
        photo.stored = blobs::stored_blob(tx, &photo.digest).await?.is_some();
    }
    Ok(doc)
}
