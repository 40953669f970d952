//! A visit walked through by the book: every fact comes from the real
//! workflow (`workflow::execute`), command by command, the way a technician
//! following the standard records it — call, kit check, departure in time,
//! appearance, knock, entry, protection, diagnosis or inspection, quote,
//! work, test run, clean-up, payment of exactly what is due, a sign-off
//! bound to the report and chained per device, leaving. The server's demo
//! data, the test fixtures and the benchmarks build their visits here, so
//! none of them holds a history the rules would refuse.
//!
//! The step helpers know the six shipped trades' playbooks; a command the
//! workflow refuses is a mistake in the caller's story and panics naming the
//! command and the rule. [`Walkthrough::apply`] gives any other command,
//! with the refusal as a value.

use crate::assignment::{Assignment, TimeWindow};
use crate::ids::{DeviceId, VisitId};
use crate::location::{GeoFix, GeoPoint};
use crate::playbook::{Playbook, Step};
use crate::quote::{QuoteLineRequest, QuoteRequest};
use crate::signoff::{Ratings, Stroke, StrokePoint};
use crate::workflow::command::{
    CallOutcome, CallPurpose, KnockMethod, LateChoice, PaymentMethod, ReceiptRecord, RepairDecision,
};
use crate::workflow::{execute, Context, LiveStamper, VisitCommand, VisitEvent, WorkflowError};
use crate::VisitState;
use chrono::{DateTime, Duration, Utc};

/// The consent text the signing screen shows (the shells' text in Chinese).
pub const CONSENT_TEXT: &str = "本人已核对以上服务内容、配件及金额，确认无误。";

/// How far from the customer's pin the phone's fixes are (metres of accuracy).
const FIX_ACCURACY_M: f64 = 8.0;

/// One visit on one phone, driven through the workflow.
#[derive(Debug, Clone)]
pub struct Walkthrough {
    pub assignment: Assignment,
    pub device: DeviceId,
    pub visit: VisitId,
    /// The visit's state after the last accepted command.
    pub state: VisitState,
    /// Every fact recorded so far, in order, as the device stores them.
    pub events: Vec<VisitEvent>,
    playbook: Playbook,
    stamper: LiveStamper,
    now: DateTime<Utc>,
    /// The camera: a moment's picture as (bytes, width, height). Without
    /// one no bytes are kept and a photo's digest is of a fixed text.
    camera: Option<Camera>,
    /// The acceptance code the customer received, read out before leaving
    /// where the visit asks for one (`with_acceptance_code`).
    acceptance_code: Option<String>,
}

/// A moment's picture as (bytes, width, height).
pub type Camera = fn(moment: &str) -> (Vec<u8>, u32, u32);

impl Walkthrough {
    /// The device receives the assignment at `at`.
    ///
    /// # Panics
    /// If the workflow refuses the assignment (another trade's playbook).
    pub fn new(
        playbook: &Playbook,
        assignment: &Assignment,
        device: &DeviceId,
        at: DateTime<Utc>,
    ) -> Self {
        let mut w = Self {
            assignment: assignment.clone(),
            device: device.clone(),
            visit: VisitId(uuid::Uuid::nil()),
            state: VisitState::default(),
            events: vec![],
            playbook: playbook.clone(),
            stamper: LiveStamper::default(),
            now: at,
            camera: None,
            acceptance_code: None,
        };
        w.step(
            0,
            VisitCommand::ReceiveAssignment {
                assignment: Box::new(assignment.clone()),
            },
        );
        w.visit = w.events[0].visit_id;
        w
    }

    /// Photographs each due moment with `camera`, so the photos' digests are
    /// of real bytes a test can upload (see [`Walkthrough::picture`]).
    pub fn with_camera(mut self, camera: Camera) -> Self {
        self.camera = Some(camera);
        self
    }

    /// The customer holds `code`, the acceptance code the center sent, and
    /// reads it out before the technician leaves.
    pub fn with_acceptance_code(mut self, code: &str) -> Self {
        self.acceptance_code = Some(code.to_string());
        self
    }

    /// The bytes of the photo of `moment`, when a camera took it.
    pub fn picture(&self, moment: &str) -> Option<Vec<u8>> {
        self.camera.map(|camera| camera(moment).0)
    }

    /// The device's clock: when the last command was given.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Gives `command` `minutes` after the previous one, with the phone at
    /// `location`; the new facts, or the workflow's refusal (nothing recorded).
    pub fn apply(
        &mut self,
        minutes: i64,
        command: VisitCommand,
        location: Option<GeoFix>,
        previous_evidence_digest: Option<String>,
    ) -> Result<&[VisitEvent], WorkflowError> {
        let at = self.now + Duration::minutes(minutes);
        let mut ctx = Context::new(at, self.device.clone());
        ctx.location = location;
        ctx.previous_evidence_digest = previous_evidence_digest;
        let events = execute(
            &self.state,
            &command,
            &self.playbook,
            &ctx,
            &mut self.stamper,
        )?;
        self.now = at;
        let start = self.events.len();
        for e in events {
            self.state.apply(&e);
            self.events.push(e);
        }
        Ok(&self.events[start..])
    }

    /// Takes, a minute apart, each required photo of the steps walked before
    /// `command`'s step that is still missing: a technician by the book photographs
    /// each moment before moving on. Without a camera the bytes are not
    /// kept: the digest is of a fixed text naming the visit and the moment.
    fn take_due_photos(&mut self, command: &VisitCommand) {
        let Some(step) = crate::workflow::step_of(command) else {
            return;
        };
        let due: Vec<String> =
            crate::workflow::missing_required_photos(&self.state, &self.playbook, step)
                .into_iter()
                .map(|m| m.id.clone())
                .collect();
        for moment in due {
            let (digest, size_bytes, width, height) = match self.camera {
                Some(camera) => {
                    let (bytes, width, height) = camera(&moment);
                    (
                        crate::canonical::sha256_hex(&bytes),
                        bytes.len() as u64,
                        width,
                        height,
                    )
                }
                None => (
                    crate::canonical::sha256_hex(
                        format!("walkthrough photo of {moment} on {}", self.visit).as_bytes(),
                    ),
                    48_000,
                    1280,
                    960,
                ),
            };
            let location = self.fix(None);
            self.step_at(
                1,
                VisitCommand::TakePhoto {
                    moment,
                    digest,
                    size_bytes,
                    width,
                    height,
                },
                location,
            );
        }
    }

    /// [`apply`](Self::apply) for the step helpers: a refusal is a mistake in the story.
    fn step_at(&mut self, minutes: i64, command: VisitCommand, location: Option<GeoFix>) {
        self.take_due_photos(&command);
        let name = command.name();
        if let Err(e) = self.apply(minutes, command, location, None) {
            panic!(
                "walkthrough of {} ({}): {name} refused [{}]: {}",
                self.assignment.id,
                self.playbook.id,
                e.code(),
                e.message(crate::messages::Lang::En)
            );
        }
    }

    fn step(&mut self, minutes: i64, command: VisitCommand) {
        self.step_at(minutes, command, None)
    }

    /// The customer's pin as a phone fix, or `point` when given.
    fn fix(&self, point: Option<GeoPoint>) -> Option<GeoFix> {
        point
            .or(self.assignment.customer.location)
            .map(|point| GeoFix {
                point,
                accuracy_m: FIX_ACCURACY_M,
            })
    }

    fn has(&self, step: Step) -> bool {
        self.playbook.has(step)
    }

    /// Confirms the window by phone, checks the kit, departs in time and
    /// arrives (`late_minutes` after the window starts, having called ahead;
    /// or 7 minutes early), then the door: appearance, knock, answer, entry
    /// (with the apology a late arrival owes) and protection.
    pub fn go(&mut self, late_minutes: Option<i64>) -> &mut Self {
        self.set_off(late_minutes);
        let arrive_at = self.arrival_time(late_minutes);
        self.arrive_at(arrive_at)
    }

    /// As [`go`](Self::go), arriving `minutes_early` before the window
    /// starts (a technician on site ahead of time).
    pub fn go_early(&mut self, minutes_early: i64) -> &mut Self {
        let arrive_at = self.arrival_time(Some(-minutes_early));
        self.set_off_to(arrive_at, false);
        self.arrive_at(arrive_at)
    }

    /// After [`set_off`](Self::set_off): arrives `minutes` after the last
    /// fact with the phone at `location` (none: no fix), outside the
    /// geofence for `outside_geofence_reason`, then the door. For stories
    /// the center must question (no location, too fast, too far).
    pub fn arrive(
        &mut self,
        minutes: i64,
        location: Option<GeoPoint>,
        outside_geofence_reason: Option<&str>,
    ) -> &mut Self {
        let location = location.and_then(|p| self.fix(Some(p)));
        self.step_at(
            minutes,
            VisitCommand::Arrive {
                location,
                outside_geofence_reason: outside_geofence_reason.map(str::to_string),
                location_unavailable: None,
            },
            location,
        );
        self.door()
    }

    /// Arrives at `arrive_at` with the phone at the customer's pin, then the door.
    fn arrive_at(&mut self, arrive_at: DateTime<Utc>) -> &mut Self {
        let wait = (arrive_at - self.now).num_minutes().max(1);
        let location = self.fix(None);
        self.step_at(
            wait,
            VisitCommand::Arrive {
                location,
                outside_geofence_reason: None,
                location_unavailable: None,
            },
            location,
        );
        self.door()
    }

    /// When the technician reaches the door: `late_minutes` after the
    /// window starts, or 7 minutes early.
    fn arrival_time(&self, late_minutes: Option<i64>) -> DateTime<Utc> {
        let window = self.state.window.unwrap_or(TimeWindow {
            start: self.now + Duration::hours(2),
            end: self.now + Duration::hours(4),
        });
        window.start + Duration::minutes(late_minutes.unwrap_or(-7))
    }

    /// Confirms the window by phone, checks the kit and departs so as to
    /// arrive as [`go`](Self::go) does (calling ahead when running late):
    /// the visit has started, the technician is on the way.
    pub fn set_off(&mut self, late_minutes: Option<i64>) -> &mut Self {
        let arrive_at = self.arrival_time(late_minutes);
        self.set_off_to(arrive_at, late_minutes.is_some())
    }

    /// Confirms, checks the kit and departs to reach the door at
    /// `arrive_at`; `call_ahead`: the customer is told the technician runs late.
    fn set_off_to(&mut self, arrive_at: DateTime<Utc>, call_ahead: bool) -> &mut Self {
        if self.has(Step::Triage) {
            self.step(
                2,
                VisitCommand::RecordTriage {
                    likely_causes: vec!["待上门诊断".into()],
                    parts_to_bring: vec![],
                    remote_fixable: false,
                },
            );
        }
        self.step(
            3,
            VisitCommand::LogCall {
                outcome: CallOutcome::Reached,
                purpose: CallPurpose::Appointment,
                note: None,
            },
        );
        self.step(
            1,
            VisitCommand::ConfirmAppointment {
                address_confirmed: true,
                product_confirmed: true,
            },
        );
        let travel = 30;
        let depart_at = arrive_at - Duration::minutes(travel);
        if self.has(Step::Prepare) {
            let kit: Vec<String> = self.playbook.kit.iter().map(|k| k.id.clone()).collect();
            // The kit is checked shortly before leaving (or right away when
            // the window is already close).
            let check_at = (depart_at - Duration::minutes(10)).max(self.now);
            let mut wait = (check_at - self.now).num_minutes();
            for item in kit {
                self.step(wait, VisitCommand::CheckKitItem { item });
                wait = 0;
            }
        }
        if self.has(Step::Depart) {
            let wait = (depart_at - self.now).num_minutes().max(1);
            self.step(
                wait,
                VisitCommand::Depart {
                    travel_minutes: travel as u32,
                },
            );
            if call_ahead {
                // Stuck in traffic: the customer is told before the window starts.
                self.step(
                    5,
                    VisitCommand::NotifyRunningLate {
                        outcome: CallOutcome::Reached,
                        choice: Some(LateChoice::Wait),
                    },
                );
            }
        }
        self
    }

    /// At the door: appearance, knock, answer, apology if late, entry, protection.
    fn door(&mut self) -> &mut Self {
        if self.has(Step::Appearance) {
            let items = self
                .playbook
                .appearance
                .iter()
                .map(|a| a.id.clone())
                .collect();
            self.step(1, VisitCommand::CheckAppearance { items });
        }
        if self.has(Step::Knock) {
            self.step(
                0,
                VisitCommand::Knock {
                    method: KnockMethod::Bell,
                },
            );
            self.step(1, VisitCommand::DoorAnswered);
        }
        let late = self
            .state
            .arrival
            .as_ref()
            .map(|a| a.punctuality)
            .filter(|p| p.is_late());
        if late.is_some() {
            let serious = matches!(late, Some(crate::workflow::Punctuality::LateSerious { .. }));
            self.step(
                1,
                VisitCommand::ApologiseForLateness {
                    gift_offered: serious,
                    gift_accepted: serious,
                },
            );
        }
        self.step(
            0,
            VisitCommand::Enter {
                greeted: true,
                permit_shown: true,
            },
        );
        if self.has(Step::Protect) {
            self.step(1, VisitCommand::PutOnShoeCovers);
            if self.playbook.kit_item("drop_cloth").is_some() {
                self.step(0, VisitCommand::LayDropCloth);
            }
        }
        self
    }

    /// The trade's first two priced fee-schedule items, one each (a deposit
    /// item follows the goods it secures).
    fn quote_lines(&self) -> Vec<QuoteLineRequest> {
        let line = |item: &str| QuoteLineRequest {
            item: item.to_string(),
            qty: 1,
            warranty_card_price: None,
            warranty_card_photo: None,
        };
        self.playbook
            .fees
            .iter()
            .filter(|f| f.price > 0)
            .take(2)
            .map(|f| line(&f.id))
            .collect()
    }

    /// Diagnoses (or inspects the goods), shows the fee schedule, quotes,
    /// has the quote accepted, does the work, runs the test, briefs the
    /// customer and cleans up.
    pub fn repair(&mut self) -> &mut Self {
        if self.has(Step::Diagnose) {
            self.step(
                10,
                VisitCommand::RecordDiagnosis {
                    fault_reproduced: true,
                    cause: "部件磨损".into(),
                    parts: vec![],
                    decision: RepairDecision::FixOnSite,
                    fault_code: None,
                    note: None,
                },
            );
        }
        let inspected: Vec<String> = if self.has(Step::Inspect) {
            self.state
                .assignment
                .as_ref()
                .map(|a| a.order.iter().map(|o| o.item.clone()).collect())
                .unwrap_or_default()
        } else {
            vec![]
        };
        for item in &inspected {
            self.step(
                2,
                VisitCommand::InspectItem {
                    item: item.clone(),
                    seal_intact: true,
                    no_leaks: true,
                    no_foreign_matter: true,
                },
            );
        }
        if self.has(Step::Quote) {
            self.step(2, VisitCommand::ShowFeeSchedule);
            self.step(
                1,
                VisitCommand::PresentQuote {
                    quote: QuoteRequest {
                        lines: self.quote_lines(),
                        discount: None,
                    },
                },
            );
            let revision = self.state.quote.as_ref().map_or(1, |q| q.revision);
            self.step(3, VisitCommand::AcceptQuote { revision });
        }
        if self.playbook.rules.guardian_present {
            self.step(
                2,
                VisitCommand::RecordGuardian {
                    name: "家属".into(),
                    relation: "子女".into(),
                },
            );
        }
        self.step(
            40,
            VisitCommand::RecordWork {
                description: "更换磨损部件".into(),
                kind: None,
                parts_used: vec![],
            },
        );
        if self.has(Step::Test) {
            self.step(
                10,
                VisitCommand::RecordTestRun {
                    passed: true,
                    uncertain: false,
                    notes: None,
                },
            );
        }
        if self.has(Step::Teach) {
            self.step(2, VisitCommand::BriefCustomer);
        }
        if self.has(Step::CleanUp) {
            self.step(
                3,
                VisitCommand::CleanUp {
                    product_restored: true,
                    wiped: true,
                    floor_cleaned: true,
                    no_tool_left: true,
                },
            );
        }
        self
    }

    /// Collects exactly what is due on the accepted quote, by mobile payment.
    pub fn pay(&mut self) -> &mut Self {
        let due = self.state.amount_due().unwrap_or(0);
        let number = format!("R-{}", &self.visit.to_string()[..8]);
        self.step(
            5,
            VisitCommand::CollectPayment {
                amount: due,
                method: PaymentMethod::Mobile,
                receipt: ReceiptRecord::Receipt { number },
                qr: None,
            },
        );
        self
    }

    /// The customer rates and signs, the phone at `location` (default: the
    /// customer's pin). `chain` is the device's previous evidence digest,
    /// moved on to this sign-off's.
    pub fn sign(
        &mut self,
        ratings: Ratings,
        location: Option<GeoPoint>,
        chain: &mut Option<String>,
    ) -> &mut Self {
        let fix = self.fix(location);
        let command = VisitCommand::SignOff {
            ratings,
            comment: None,
            strokes: signature(),
            consent_text: CONSENT_TEXT.into(),
            shown_digest: None,
        };
        self.take_due_photos(&command);
        let signed = match self.apply(3, command, fix, chain.clone()) {
            Ok(events) => events.iter().find_map(|e| match &e.kind {
                crate::EventKind::CustomerSignedOff { evidence, .. } => Some(evidence.digest()),
                _ => None,
            }),
            Err(e) => panic!(
                "walkthrough of {}: sign_off refused [{}]: {}",
                self.assignment.id,
                e.code(),
                e.message(crate::messages::Lang::En)
            ),
        };
        *chain = signed;
        self
    }

    /// The customer declines to sign, for `reason`.
    pub fn decline(&mut self, reason: &str) -> &mut Self {
        self.step(
            2,
            VisitCommand::DeclineSignature {
                reason: reason.into(),
            },
        );
        self
    }

    /// Checks the customer's belongings where the trade asks, and leaves;
    /// the workflow decides the outcome.
    pub fn leave(&mut self) -> &mut Self {
        if crate::workflow::acceptance_due(&self.state, &self.playbook)
            && !self.state.acceptance.settled()
        {
            let code = self.acceptance_code.clone().unwrap_or_else(|| {
                panic!(
                    "walkthrough of {}: the visit asks for the acceptance code; give it with `with_acceptance_code`",
                    self.assignment.id
                )
            });
            self.step(1, VisitCommand::EnterAcceptanceCode { code });
        }
        if self.has(Step::Belongings) {
            self.step(1, VisitCommand::CheckBelongings);
        }
        self.step(
            3,
            VisitCommand::Leave {
                service_card_given: true,
                shoe_covers_off_at_door: true,
            },
        );
        self
    }

    /// A whole visit: on time (or late), repaired, paid, signed, left.
    pub fn completed(
        &mut self,
        late_minutes: Option<i64>,
        ratings: Ratings,
        chain: &mut Option<String>,
    ) -> &mut Self {
        self.go(late_minutes)
            .repair()
            .pay()
            .sign(ratings, None, chain)
            .leave()
    }
}

/// A short signature: two strokes on the signing pad.
pub fn signature() -> Vec<Stroke> {
    let p = |x, y, t_ms| StrokePoint { x, y, t_ms };
    vec![
        Stroke {
            points: vec![p(10, 40, 0), p(60, 20, 120), p(110, 45, 260)],
        },
        Stroke {
            points: vec![p(130, 20, 420), p(136, 48, 540)],
        },
    ]
}
