//! Shared test harness: a visit driven through the workflow at explicit
//! times on 2026-11-25 (UTC), with commands written as JSON exactly as the
//! CLI scripts write them. The default window is 10:00-12:00.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use doorstep_core::assignment::{Assignment, TimeWindow};
use doorstep_core::discount_approval::SharedDiscountKey;
use doorstep_core::ids::DeviceId;
use doorstep_core::location::{GeoFix, GeoPoint};
use doorstep_core::playbook::Playbook;
use doorstep_core::workflow::{
    Context, EventKind, SequentialStamper, Visit, VisitCommand, VisitState, WorkflowError,
};
use serde_json::{json, Value};

/// 2026-11-25 at "HH:MM" or "HH:MM:SS" UTC.
pub fn at(hm: &str) -> DateTime<Utc> {
    let parts: Vec<u32> = hm
        .split(':')
        .map(|p| p.parse().expect("time like 09:30"))
        .collect();
    Utc.with_ymd_and_hms(
        2026,
        11,
        25,
        parts[0],
        parts[1],
        *parts.get(2).unwrap_or(&0),
    )
    .unwrap()
}

pub fn window(start: &str, end: &str) -> TimeWindow {
    TimeWindow {
        start: at(start),
        end: at(end),
    }
}

/// The window JSON for commands.
pub fn window_json(start: &str, end: &str) -> Value {
    serde_json::to_value(window(start, end)).unwrap()
}

/// Same window on the next day, for reschedules.
pub fn tomorrow_json(start: &str, end: &str) -> Value {
    let w = window(start, end);
    serde_json::to_value(TimeWindow {
        start: w.start + chrono::Duration::days(1),
        end: w.end + chrono::Duration::days(1),
    })
    .unwrap()
}

pub const HOME: GeoPoint = GeoPoint {
    lat: 31.2304,
    lon: 121.4737,
};

/// A fix `metres_north` of the customer's home.
pub fn fix_near(metres_north: f64) -> GeoFix {
    GeoFix {
        point: GeoPoint {
            lat: HOME.lat + metres_north / 111_320.0,
            lon: HOME.lon,
        },
        accuracy_m: 10.0,
    }
}

/// A complete, valid assignment for `trade` (out of warranty unless changed).
pub fn assignment(trade: &str) -> Assignment {
    let order = match trade {
        "water_delivery" => json!([{"item": "bottle_18_9l", "qty": 2}]),
        _ => json!([]),
    };
    let items = match trade {
        "home_care" => json!(["personal_care", "health_check"]),
        _ => json!([]),
    };
    serde_json::from_value(json!({
        "id": "A-1001",
        "version": 1,
        "trade": trade,
        "technician": "T-7",
        "customer": {
            "name": "Li Hua",
            "phone": "138-0013-8000",
            "address": "Room 1201, 88 Century Avenue, Pudong, Shanghai",
            "location": {"lat": HOME.lat, "lon": HOME.lon},
            "time_zone": "Asia/Shanghai"
        },
        "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
        "fault_description": "Not cooling",
        "requested_window": window(  "10:00", "12:00"),
        "received_at": at("07:30"),
        "order": order,
        "service_items": items
    }))
    .unwrap()
}

/// Parses a command written as script JSON.
pub fn cmd(v: Value) -> VisitCommand {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("bad command {v}: {e}"))
}

/// A signature: one stroke of three points.
pub fn strokes() -> Value {
    json!([{"points": [{"x": 10, "y": 10, "t_ms": 0}, {"x": 40, "y": 30, "t_ms": 120}, {"x": 80, "y": 12, "t_ms": 260}]}])
}

/// One visit driven at explicit times.
pub struct Run {
    pub visit: Visit,
    pub stamper: SequentialStamper,
    pub device: DeviceId,
    pub now: DateTime<Utc>,
    pub location: Option<GeoFix>,
    /// The device's discount key (`doorstep_core::discount_approval`).
    pub discount_key: Option<SharedDiscountKey>,
}

impl Run {
    /// A fresh visit with the shipped playbook for `trade` and the default assignment received at 08:00.
    pub fn new(trade: &str) -> Run {
        Self::with_assignment(assignment(trade))
    }

    pub fn with_assignment(a: Assignment) -> Run {
        let pb = Playbook::shipped_by_id(a.trade.as_str()).expect("shipped trade");
        Self::with_playbook(pb, a)
    }

    pub fn with_playbook(pb: Playbook, a: Assignment) -> Run {
        let mut run = Run {
            visit: Visit::new(pb),
            stamper: SequentialStamper::default(),
            device: DeviceId::new("dev-1").unwrap(),
            now: at("08:00"),
            location: None,
            discount_key: None,
        };
        run.ok(json!({"type": "receive_assignment", "assignment": a}));
        run
    }

    pub fn at(&mut self, hm: &str) -> &mut Self {
        self.now = at(hm);
        self
    }

    pub fn state(&self) -> &VisitState {
        &self.visit.state
    }

    pub fn playbook(&self) -> &Playbook {
        &self.visit.playbook
    }

    fn ctx(&self) -> Context {
        let mut c = Context::new(self.now, self.device.clone());
        c.location = self.location;
        c.discount_key = self.discount_key.clone();
        c
    }

    /// Takes each required photo of the steps walked before `c`'s step that
    /// is still missing, as a technician by the book does before moving on
    /// (the photo rules' own tests use `refused` to see the refusal).
    fn take_due_photos(&mut self, c: &VisitCommand) {
        let Some(step) = doorstep_core::workflow::step_of(c) else {
            return;
        };
        let due: Vec<String> = doorstep_core::workflow::missing_required_photos(
            &self.visit.state,
            &self.visit.playbook,
            step,
        )
        .into_iter()
        .map(|m| m.id.clone())
        .collect();
        for moment in due {
            let digest = doorstep_core::canonical::sha256_hex(moment.as_bytes());
            let photo = cmd(
                json!({"type": "take_photo", "moment": moment, "digest": digest,
                "size_bytes": 1000, "width": 640, "height": 480}),
            );
            let ctx = self.ctx();
            if let Err(e) = self.visit.handle(&photo, &ctx, &mut self.stamper) {
                panic!("photo {moment} refused: [{}]", e.code());
            }
        }
    }

    /// Runs a command that must be accepted (after the photos due before
    /// it); returns the new events' kinds.
    pub fn ok(&mut self, v: Value) -> Vec<EventKind> {
        self.take_due_photos(&cmd(v.clone()));
        self.ok_as_is(v)
    }

    /// [`ok`](Self::ok) without taking the photos due first: the visit
    /// must already allow it as it stands.
    pub fn ok_as_is(&mut self, v: Value) -> Vec<EventKind> {
        let c = cmd(v.clone());
        let ctx = self.ctx();
        match self.visit.handle(&c, &ctx, &mut self.stamper) {
            Ok(events) => events.iter().map(|e| e.kind.clone()).collect(),
            Err(e) => panic!(
                "{v} was refused: [{}] {}",
                e.code(),
                e.message(doorstep_core::Lang::En)
            ),
        }
    }

    /// Runs a command that must be refused (after the photos due before
    /// it, so the refusal is the rule under test); returns the refusal. The
    /// state must not change.
    pub fn refused(&mut self, v: Value) -> WorkflowError {
        self.take_due_photos(&cmd(v.clone()));
        self.refused_as_is(v)
    }

    /// [`refused`](Self::refused) without taking the photos due first.
    pub fn refused_as_is(&mut self, v: Value) -> WorkflowError {
        let c = cmd(v.clone());
        let ctx = self.ctx();
        let before = self.visit.events.len();
        match self.visit.handle(&c, &ctx, &mut self.stamper) {
            Ok(_) => panic!("{v} was accepted but should have been refused"),
            Err(e) => {
                assert_eq!(self.visit.events.len(), before, "a refusal appended events");
                e
            }
        }
    }

    // ---- canned progressions (appliance-repair shaped; each step's own tests live elsewhere) ----

    /// Reached the customer at 08:10 and confirmed the 10:00-12:00 window.
    pub fn scheduled(&mut self) -> &mut Self {
        self.at("08:10");
        self.ok(json!({"type": "log_call", "outcome": "reached"}));
        self.ok(json!({"type": "confirm_appointment", "address_confirmed": true, "product_confirmed": true}));
        self
    }

    /// Every kit item checked at 09:00.
    pub fn kit_checked(&mut self) -> &mut Self {
        self.at("09:00");
        let ids: Vec<String> = self.playbook().kit.iter().map(|k| k.id.clone()).collect();
        for id in ids {
            self.ok(json!({"type": "check_kit_item", "item": id}));
        }
        self
    }

    /// Departed at 09:30 with 20 minutes of travel (arrives 09:50, ten minutes early).
    pub fn departed(&mut self) -> &mut Self {
        self.scheduled().kit_checked().at("09:30");
        self.ok(json!({"type": "depart", "travel_minutes": 20}));
        self
    }

    /// Arrived at 09:50 at the door (30 m from the pin).
    pub fn at_door(&mut self) -> &mut Self {
        self.departed().at("09:50");
        self.ok(json!({"type": "arrive", "location": fix_near(30.0)}));
        self
    }

    /// Every appearance item of the trade ticked (at the door, at the time set).
    pub fn appearance_checked(&mut self) -> &mut Self {
        let items: Vec<String> = self
            .playbook()
            .appearance
            .iter()
            .map(|k| k.id.clone())
            .collect();
        self.ok(json!({"type": "check_appearance", "items": items}));
        self
    }

    /// Appearance checked, bell rung, door answered, entered at 09:52.
    pub fn inside(&mut self) -> &mut Self {
        self.at_door().at("09:51").appearance_checked();
        self.ok(json!({"type": "knock", "method": "bell"}));
        self.at("09:52");
        self.ok(json!({"type": "door_answered"}));
        self.ok(json!({"type": "enter", "greeted": true, "permit_shown": true}));
        self
    }

    /// Shoe covers on and (where the trade uses one) the drop cloth laid.
    pub fn protected(&mut self) -> &mut Self {
        self.inside().at("09:53");
        if self.playbook().rules.shoe_covers {
            self.ok(json!({"type": "put_on_shoe_covers"}));
        }
        if self.playbook().rules.drop_cloth {
            self.ok(json!({"type": "lay_drop_cloth"}));
        }
        self
    }

    /// Diagnosed with `decision` at 10:05.
    pub fn diagnosed(&mut self, decision: &str) -> &mut Self {
        self.protected().at("10:05");
        self.ok(json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "Start relay burnt out", "parts": ["part_compressor_relay"], "decision": decision}));
        self
    }

    /// Fee schedule shown, quote of visit fee + basic labour + relay presented and accepted at 10:10.
    pub fn quote_accepted(&mut self) -> &mut Self {
        self.diagnosed("fix_on_site").at("10:10");
        self.ok(json!({"type": "show_fee_schedule"}));
        self.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}]}}));
        let rev = self.state().quote.as_ref().unwrap().revision;
        self.ok(json!({"type": "accept_quote", "revision": rev}));
        self
    }

    /// Relay replaced at 10:30, test passed at 10:40.
    pub fn repaired_and_tested(&mut self) -> &mut Self {
        self.quote_accepted().at("10:30");
        self.ok(json!({"type": "record_work", "description": "Replaced compressor start relay", "parts_used": [{"item": "part_compressor_relay", "old_serial": "R-OLD-1", "new_serial": "R-NEW-9"}]}));
        self.at("10:40");
        self.ok(json!({"type": "record_test_run", "passed": true}));
        self
    }

    /// Briefed and cleaned up at 10:45.
    pub fn cleaned_up(&mut self) -> &mut Self {
        self.repaired_and_tested().at("10:45");
        self.ok(json!({"type": "brief_customer"}));
        self.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
        self
    }

    /// Paid the accepted total in cash at 10:50.
    pub fn paid(&mut self) -> &mut Self {
        self.cleaned_up().at("10:50");
        let total = self.state().accepted_quote().unwrap().customer_total;
        self.ok(json!({"type": "collect_payment", "amount": total, "method": "cash", "receipt": {"kind": "receipt", "number": "R-2026-0042"}}));
        self
    }

    /// Customer rated 5/5 and signed at 10:55.
    pub fn signed(&mut self) -> &mut Self {
        self.paid().at("10:55");
        self.ok(json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes(), "consent_text": "I confirm the work and amounts above."}));
        self
    }
}
