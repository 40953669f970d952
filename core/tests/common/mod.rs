//! Shared helpers for the store tests and benchmarks: a temporary directory,
//! an enrolment, a complete appliance-repair assignment, and the next valid
//! command of a visit derived from its state (so a test can drive many
//! visits, interleaved, through a whole valid sequence).
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use doorstep_core::assignment::{Customer, Product, Warranty};
use doorstep_core::location::{GeoFix, GeoPoint};
use doorstep_core::protocol::ChangeKind;
use doorstep_core::quote::{QuoteLineRequest, QuoteRequest};
use doorstep_core::signoff::{Ratings, Stroke, StrokePoint};
use doorstep_core::store::{Enrollment, Store};
use doorstep_core::workflow::command::{CallOutcome, CallPurpose, KnockMethod, PartUsed};
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord, RepairDecision, WorkKind};
use doorstep_core::{Assignment, AssignmentId, Stage, TimeWindow, VisitCommand, VisitState};
use doorstep_core::{DeviceId, TechnicianId, TradeId};
use std::path::{Path, PathBuf};

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "doorstep-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn db(&self) -> PathBuf {
        self.0.join("store.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn enrollment() -> Enrollment {
    Enrollment {
        device_id: DeviceId::new("phone-7").unwrap(),
        technician_id: TechnicianId::new("tech-42").unwrap(),
        technician_name: "Li Wei".into(),
    }
}

pub fn open(path: &Path) -> Store {
    Store::open(path, &enrollment()).unwrap()
}

/// 2026-11-25 09:00 UTC.
pub fn day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

pub fn home() -> GeoPoint {
    GeoPoint {
        lat: 31.2304,
        lon: 121.4737,
    }
}

pub const PHONE: &str = "138-0013-8000";
pub const ADDRESS: &str = "88 Nanjing Road, Flat 1201";

/// A complete appliance-repair assignment whose window starts at `start`.
pub fn assignment(id: &str, start: DateTime<Utc>) -> Assignment {
    Assignment {
        id: AssignmentId::new(id).unwrap(),
        version: 1,
        trade: TradeId::new("appliance_repair").unwrap(),
        technician: Some(TechnicianId::new("tech-42").unwrap()),
        customer: Customer {
            name: Some("Wang Fang".into()),
            phone: Some(PHONE.into()),
            address: Some(ADDRESS.into()),
            location: Some(home()),
            time_zone: Some("Asia/Shanghai".into()),
        },
        product: Product {
            model: Some("Haier BCD-216".into()),
            serial: None,
            purchase_date: Some(chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
            installed_on: None,
            warranty: Warranty::OutOfWarranty,
        },
        fault_description: Some("Fridge not cooling".into()),
        requested_window: Some(TimeWindow {
            start,
            end: start + Duration::hours(2),
        }),
        received_at: Some(start - Duration::days(1)),
        order: vec![],
        service_items: vec![],
        notes: None,
        acceptance: None,
        center_waivers: vec![],
        discount_approvals: vec![],
    }
}

pub fn issued(id: &str, start: DateTime<Utc>) -> ChangeKind {
    ChangeKind::Assignment {
        assignment: Box::new(assignment(id, start)),
    }
}

pub fn signature() -> Vec<Stroke> {
    vec![Stroke {
        points: vec![
            StrokePoint {
                x: 0,
                y: 0,
                t_ms: 0,
            },
            StrokePoint {
                x: 40,
                y: 12,
                t_ms: 120,
            },
            StrokePoint {
                x: 80,
                y: 3,
                t_ms: 260,
            },
        ],
    }]
}

pub const KIT: [&str; 8] = [
    "tools",
    "parts",
    "drop_cloth",
    "shoe_covers",
    "warranty_sheet",
    "receipts",
    "fee_schedule",
    "work_permit",
];

/// The next command of a valid appliance-repair visit, when to give it and
/// the location fix, or `None` once the visit is closed.
pub fn next_command(s: &VisitState) -> Option<(VisitCommand, DateTime<Utc>, Option<GeoFix>)> {
    let window = s.window?;
    let n = Duration::minutes(s.event_count as i64);
    let before = window.start - Duration::hours(3) + n;
    let on_site = window.start + n;
    let fix = GeoFix {
        point: home(),
        accuracy_m: 8.0,
    };
    let cmd = match s.stage {
        Stage::New | Stage::Closed => return None,
        Stage::Intake => {
            let c = if !s.triaged {
                VisitCommand::RecordTriage {
                    likely_causes: vec!["start relay".into()],
                    parts_to_bring: vec!["part_compressor_relay".into()],
                    remote_fixable: false,
                }
            } else if !s.calls.iter().any(|c| c.outcome == CallOutcome::Reached) {
                VisitCommand::LogCall {
                    outcome: CallOutcome::Reached,
                    purpose: CallPurpose::Appointment,
                    note: None,
                }
            } else {
                VisitCommand::ConfirmAppointment {
                    address_confirmed: true,
                    product_confirmed: true,
                }
            };
            return Some((c, before, None));
        }
        Stage::Scheduled => {
            if let Some(item) = KIT.iter().find(|k| !s.kit.contains_key(**k)) {
                return Some((
                    VisitCommand::CheckKitItem {
                        item: item.to_string(),
                    },
                    before,
                    None,
                ));
            }
            return Some((
                VisitCommand::Depart { travel_minutes: 20 },
                window.start - Duration::minutes(30),
                None,
            ));
        }
        Stage::EnRoute => {
            return Some((
                VisitCommand::Arrive {
                    location: Some(fix),
                    outside_geofence_reason: None,
                    location_unavailable: None,
                },
                window.start - Duration::minutes(8),
                Some(fix),
            ))
        }
        Stage::AtDoor => {
            let at = window.start - Duration::minutes(7) + Duration::seconds(s.event_count as i64);
            let c = if !s.appearance_checked {
                VisitCommand::CheckAppearance {
                    items: vec!["uniform".into(), "clean".into(), "permit_visible".into()],
                }
            } else if s.door.knocks.is_empty() {
                VisitCommand::Knock {
                    method: KnockMethod::Bell,
                }
            } else if !s.door.answered {
                VisitCommand::DoorAnswered
            } else {
                VisitCommand::Enter {
                    greeted: true,
                    permit_shown: true,
                }
            };
            return Some((c, at, Some(fix)));
        }
        Stage::OnSite => {
            let pb = s
                .assignment
                .as_ref()
                .and_then(|a| doorstep_core::Playbook::shipped_by_id(a.trade.as_str()))?;
            let due = doorstep_core::workflow::missing_required_photos(
                s,
                &pb,
                doorstep_core::Step::Leave,
            );
            if let Some(moment) = due.first() {
                VisitCommand::TakePhoto {
                    moment: moment.id.clone(),
                    digest: doorstep_core::canonical::sha256_hex(
                        format!("{} {}", moment.id, s.event_count).as_bytes(),
                    ),
                    size_bytes: 2048,
                    width: 800,
                    height: 600,
                }
            } else if s.shoe_covers.is_none() {
                VisitCommand::PutOnShoeCovers
            } else if !s.drop_cloth_laid {
                VisitCommand::LayDropCloth
            } else if s.diagnosis.is_none() {
                VisitCommand::RecordDiagnosis {
                    fault_reproduced: true,
                    cause: "compressor start relay burnt out".into(),
                    parts: vec!["part_compressor_relay".into()],
                    decision: RepairDecision::FixOnSite,
                    fault_code: None,
                    note: None,
                }
            } else if !s.fee_schedule_shown {
                VisitCommand::ShowFeeSchedule
            } else if s.quote.is_none() {
                VisitCommand::PresentQuote {
                    quote: QuoteRequest {
                        lines: vec![
                            line("visit_fee"),
                            line("labour_basic"),
                            line("part_compressor_relay"),
                        ],
                        discount: None,
                    },
                }
            } else if s.accepted_revision.is_none() {
                VisitCommand::AcceptQuote {
                    revision: s.quote.as_ref()?.revision,
                }
            } else if s.work.is_empty() {
                VisitCommand::RecordWork {
                    description: "replaced the start relay".into(),
                    kind: Some(WorkKind::Repair),
                    parts_used: vec![PartUsed {
                        item: "part_compressor_relay".into(),
                        old_serial: Some("R-OLD-1".into()),
                        new_serial: Some("R-NEW-2".into()),
                    }],
                }
            } else if s.test_run.is_none() {
                VisitCommand::RecordTestRun {
                    passed: true,
                    uncertain: false,
                    notes: None,
                }
            } else if !s.briefed {
                VisitCommand::BriefCustomer
            } else if !s.cleaned_up {
                VisitCommand::CleanUp {
                    product_restored: true,
                    wiped: true,
                    floor_cleaned: true,
                    no_tool_left: true,
                }
            } else if s.payment.is_none() {
                VisitCommand::CollectPayment {
                    amount: s.quote.as_ref()?.customer_total,
                    method: PaymentMethod::Mobile,
                    receipt: ReceiptRecord::Receipt {
                        number: "R-0001".into(),
                    },
                    qr: None,
                }
            } else if s.sign_off.is_none() {
                VisitCommand::SignOff {
                    ratings: Ratings {
                        quality: 5,
                        attitude: 5,
                    },
                    comment: None,
                    strokes: signature(),
                    consent_text: "I confirm the work and the amount above.".into(),
                    shown_digest: None,
                }
            } else {
                VisitCommand::Leave {
                    service_card_given: true,
                    shoe_covers_off_at_door: true,
                }
            }
        }
    };
    Some((cmd, on_site, Some(fix)))
}

fn line(item: &str) -> QuoteLineRequest {
    QuoteLineRequest {
        item: item.into(),
        qty: 1,
        warranty_card_price: None,
        warranty_card_photo: None,
    }
}

/// Receives `id` and walks it to the end (or `max_commands`); returns the
/// number of commands applied.
pub fn run_visit(store: &Store, id: &str, start: DateTime<Utc>, max_commands: usize) -> usize {
    store
        .receive_assignment(&issued(id, start), start - Duration::hours(20))
        .unwrap();
    let aid = AssignmentId::new(id).unwrap();
    let mut n = 1;
    while n < max_commands {
        let s = store.state(&aid).unwrap();
        let Some((cmd, at, fix)) = next_command(&s) else {
            break;
        };
        store
            .apply_command(&aid, &cmd, at, fix)
            .unwrap_or_else(|e| panic!("{} refused: {e}", cmd.name()));
        n += 1;
    }
    n
}

/// A shipped trade's playbook and an assignment in it whose window starts
/// 3 hours after it was received, 5 hours ago (what a `Walkthrough` walks).
pub fn job(trade: &str, n: u32) -> (doorstep_core::Playbook, Assignment) {
    let pb = doorstep_core::Playbook::shipped_by_id(trade).unwrap();
    let start = Utc::now() - Duration::hours(5);
    let mut a = assignment(&format!("A-{n}"), start);
    a.trade = TradeId::new(trade).unwrap();
    a.received_at = Some(start - Duration::hours(3));
    if trade == "water_delivery" {
        a.order = vec![doorstep_core::assignment::OrderLine {
            item: "bottle_18_9l".into(),
            qty: 1,
        }];
    }
    if trade == "home_care" {
        a.service_items = vec!["personal_care".into()];
    }
    (pb, a)
}

/// A pull page with no changes, the last, answered at `server_time`.
pub fn empty_last_page(server_time: DateTime<Utc>) -> doorstep_core::protocol::PullResponse {
    doorstep_core::protocol::PullResponse {
        protocol_version: 1,
        changes: vec![],
        next_cursor: 0,
        more: false,
        server_time,
        business_zone: None,
        acked_seq: None,
        playbooks: vec![],
        playbook_key: None,
        receipt_ids: Default::default(),
    }
}

/// Whether a JSON value is a default as a lean state leaves it out: null,
/// false, zero, an empty text, list or map, or a map of such values.
pub fn is_default_json(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_default_json),
    }
}

/// The CPU time this thread has used (the benchmarks' measure beside the
/// wall clock).
pub fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
