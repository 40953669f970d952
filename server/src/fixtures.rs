//! Realistic visit event streams, built the way a device records them
//! (envelopes with HLC stamps, the assignment version seen, a sign-off
//! bound to the report by its digest and chained per device). Used by the
//! demo data set, the integration tests and the ingest benchmark; the
//! server itself never fabricates device facts.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::clock::Hlc;
use doorstep_core::location::{GeoFix, GeoPoint};
use doorstep_core::quote::{self, QuoteLineRequest, QuoteRequest};
use doorstep_core::signoff::{self, Ratings, Report, SignOffEvidence, Stroke, StrokePoint};
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord, RepairDecision, WorkKind};
use doorstep_core::workflow::event::Punctuality;
use doorstep_core::{
    Assignment, DeviceId, EventId, EventKind, Outcome, Playbook, VisitEvent, VisitId, VisitState,
};

/// The consent text shown on the signing screen.
pub const CONSENT_TEXT: &str = "I confirm the work, parts and amounts above and rate the service.";

/// Builds one visit's events in order, tracking the state as a device does.
pub struct VisitBuilder {
    pub assignment: Assignment,
    pub device: DeviceId,
    pub visit: VisitId,
    pub state: VisitState,
    pub events: Vec<VisitEvent>,
    playbook: Playbook,
    hlc: Hlc,
    now: DateTime<Utc>,
}

impl VisitBuilder {
    /// Starts a visit: the device receives the assignment at `at`.
    pub fn new(
        playbook: &Playbook,
        assignment: &Assignment,
        device: &DeviceId,
        at: DateTime<Utc>,
    ) -> Self {
        let mut b = Self {
            assignment: assignment.clone(),
            device: device.clone(),
            visit: VisitId::new_v7(),
            state: VisitState::default(),
            events: vec![],
            playbook: playbook.clone(),
            hlc: Hlc::default(),
            now: at,
        };
        let field_issues = assignment.field_issues(&playbook.required_fields);
        b.record(
            0,
            EventKind::AssignmentReceived {
                assignment: assignment.clone(),
                field_issues,
            },
        );
        b
    }

    /// Records a fact `minutes` after the previous one.
    pub fn record(&mut self, minutes: i64, kind: EventKind) -> &mut Self {
        self.now += Duration::minutes(minutes);
        let e = VisitEvent {
            id: EventId::new_v7(),
            visit_id: self.visit,
            assignment_id: self.assignment.id.clone(),
            device_id: self.device.clone(),
            hlc: self.hlc.tick(self.now),
            recorded_at: self.now,
            location: None,
            assignment_version: self.assignment.version,
            kind,
        };
        self.state.apply(&e);
        self.events.push(e);
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Confirms the window, departs and arrives (`late_minutes` after the start, or 7 min early).
    pub fn go(&mut self, late_minutes: Option<i64>) -> &mut Self {
        let window = self
            .assignment
            .requested_window
            .unwrap_or(doorstep_core::TimeWindow {
                start: self.now + Duration::hours(2),
                end: self.now + Duration::hours(4),
            });
        self.record(
            5,
            EventKind::AppointmentConfirmed {
                window,
                address_confirmed: true,
                product_confirmed: true,
            },
        );
        let arrive_at = window.start + Duration::minutes(late_minutes.unwrap_or(-7));
        let depart_at = arrive_at - Duration::minutes(30);
        let wait = (depart_at - self.now).num_minutes().max(1);
        self.record(
            wait,
            EventKind::Departed {
                travel_minutes: 30,
                projected_arrival: arrive_at,
                latest_on_time_departure: window.start - Duration::minutes(35),
                late_risk: late_minutes.is_some(),
            },
        );
        let punctuality = match late_minutes {
            None => Punctuality::Early { minutes_early: 7 },
            Some(m) if m >= 15 => Punctuality::LateSerious { minutes_late: m },
            Some(m) => Punctuality::LateMinor { minutes_late: m },
        };
        let location = self.assignment.customer.location.map(|point| GeoFix {
            point,
            accuracy_m: 8.0,
        });
        self.record(
            30,
            EventKind::Arrived {
                location,
                geofence: None,
                outside_geofence_reason: None,
                punctuality,
                late_without_prior_call: false,
                location_unavailable: None,
            },
        );
        self.record(
            2,
            EventKind::Entered {
                greeted: true,
                permit_shown: true,
            },
        )
    }

    /// Diagnoses, quotes the trade's first two priced fee items, has the quote accepted,
    /// does the work and passes the test run.
    pub fn repair(&mut self) -> &mut Self {
        self.record(
            10,
            EventKind::DiagnosisRecorded {
                fault_reproduced: true,
                cause: "worn part".into(),
                parts: vec![],
                decision: RepairDecision::FixOnSite,
            },
        );
        let lines = self
            .playbook
            .fees
            .iter()
            .filter(|f| f.price > 0)
            .take(2)
            .map(|f| QuoteLineRequest {
                item: f.id.clone(),
                qty: 1,
                warranty_card_price: None,
                warranty_card_photo: None,
            })
            .collect();
        let today = self.now.date_naive();
        if let Ok(q) = quote::price(
            &self.playbook,
            &self.assignment,
            &QuoteRequest {
                lines,
                discount: None,
            },
            today,
            1,
        ) {
            let total = q.customer_total;
            self.record(2, EventKind::FeeScheduleShown);
            self.record(1, EventKind::QuotePresented { quote: q });
            self.record(
                3,
                EventKind::QuoteAccepted {
                    revision: 1,
                    customer_total: total,
                },
            );
        }
        self.record(
            40,
            EventKind::WorkRecorded {
                description: "replaced the worn part".into(),
                kind: WorkKind::Repair,
                parts_used: vec![],
            },
        );
        self.record(
            10,
            EventKind::TestRunRecorded {
                passed: true,
                uncertain: false,
                notes: None,
            },
        )
    }

    /// Collects `amount` (default: exactly the accepted quote).
    pub fn pay(&mut self, amount: Option<i64>) -> &mut Self {
        let due = self.state.accepted_quote().map_or(0, |q| q.customer_total);
        self.record(
            5,
            EventKind::PaymentCollected {
                amount: amount.unwrap_or(due),
                method: PaymentMethod::Mobile,
                receipt: ReceiptRecord::Receipt {
                    number: format!("R-{}", &self.visit.to_string()[..8]),
                },
            },
        )
    }

    /// The customer rates and signs at `location` (default: the customer's).
    /// `chain` is the device's previous evidence digest, updated in place.
    pub fn sign(
        &mut self,
        ratings: Ratings,
        location: Option<GeoPoint>,
        chain: &mut Option<String>,
    ) -> &mut Self {
        let signed_at = self.now + Duration::minutes(3);
        let report = Report::of(&self.state, Some(ratings), None, CONSENT_TEXT);
        let strokes = vec![Stroke {
            points: vec![
                StrokePoint {
                    x: 10,
                    y: 40,
                    t_ms: 0,
                },
                StrokePoint {
                    x: 60,
                    y: 20,
                    t_ms: 120,
                },
                StrokePoint {
                    x: 110,
                    y: 45,
                    t_ms: 260,
                },
            ],
        }];
        let evidence = SignOffEvidence {
            report_digest: report.digest(),
            strokes_digest: signoff::strokes_digest(&strokes),
            consent_digest: report.consent_digest.clone(),
            device_id: self.device.clone(),
            signed_at,
            location: location
                .or(self.assignment.customer.location)
                .map(|point| GeoFix {
                    point,
                    accuracy_m: 6.0,
                }),
            previous_evidence_digest: chain.clone(),
            device_signature: None,
        };
        *chain = Some(evidence.digest());
        self.record(
            3,
            EventKind::CustomerSignedOff {
                report_version: self.state.report_version,
                ratings,
                comment: None,
                strokes,
                evidence,
            },
        )
    }

    pub fn leave(&mut self, outcome: Outcome) -> &mut Self {
        self.record(
            4,
            EventKind::Left {
                outcome,
                service_card_given: true,
                shoe_covers_off_at_door: true,
            },
        )
    }

    /// A full repair: on time (or late), paid exactly, signed, left fixed.
    pub fn completed(
        &mut self,
        late_minutes: Option<i64>,
        ratings: Ratings,
        chain: &mut Option<String>,
    ) -> &mut Self {
        self.go(late_minutes)
            .repair()
            .pay(None)
            .sign(ratings, None, chain);
        self.leave(Outcome::Fixed)
    }
}
