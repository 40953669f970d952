//! The visit as a screen shows it: stage, what may be done next (with
//! localized labels), prompts the standard requires at this moment (late
//! risk, apology, scripts), the checklist, the quote, timers and the report
//! digest. Derived from the state; never stored.

use super::command_table::row_named;
use super::decide::{departure_plan, DeparturePlan};
use super::event::{Outcome, Punctuality};
use super::state::{Conflict, KitStatus, Stage, VisitState};
use super::travel::{expected_travel, TravelEstimate};
use super::VisitCommand;
use crate::assignment::{AssignmentField, FieldIssue, TimeWindow};
use crate::business_time::BusinessZone;
use crate::callbacks::{self, CallbackDue};
use crate::clock;
use crate::ids::{AssignmentId, VisitId};
use crate::location::GeoPoint;
use crate::messages::Text;
use crate::playbook::{Playbook, Step};
use crate::quote::Quote;
use crate::scripts::{script, ScriptMoment};
use crate::signoff::{short_digest, Report};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An action the technician can take now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    /// The command's `type`.
    pub command: String,
    pub label: Text,
    /// The standard requires this before the visit can move on.
    pub required: bool,
}

/// Something the standard asks the technician to do or say now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub code: String,
    pub text: Text,
}

impl Prompt {
    /// A standard spoken line (话术, `script.*`) the technician says to the
    /// customer, rather than an instruction to the technician.
    pub fn spoken(&self) -> bool {
        self.code.starts_with("script.")
    }
}

/// One checklist line (kit or appearance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistEntry {
    pub id: String,
    pub name: Text,
    pub mandatory: bool,
    /// `checked`, `skipped` or `open`.
    pub status: String,
}

/// The clock-driven parts of the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Timers {
    /// Leave by this time to arrive 5-10 minutes early (given the last known
    /// travel time; before departing, the expected one).
    pub depart_by: Option<DateTime<Utc>>,
    /// Before departing: leave from this time (to arrive at most 10 minutes
    /// early); with `depart_by`, the "leave between … and …" of §2.5.
    #[serde(default)]
    pub leave_from: Option<DateTime<Utc>>,
    /// Before departing: the expected travel time and where it comes from.
    #[serde(default)]
    pub expected_travel: Option<TravelEstimate>,
    /// The next knock is allowed at.
    pub next_knock_at: Option<DateTime<Utc>>,
    /// Phone the customer from this time if the door stays closed.
    pub call_customer_at: Option<DateTime<Utc>>,
    /// "Customer absent" may be declared from this time.
    pub absent_allowed_at: Option<DateTime<Utc>>,
    pub callbacks: Vec<CallbackDue>,
}

/// The customer card: who, where, what and when, as the assignment gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CustomerCard {
    pub name: Option<String>,
    /// The number to dial (the customer's today; a privacy number once orders mask it).
    pub phone: Option<String>,
    pub address: Option<String>,
    /// WGS-84, for the "open in maps" hand-off.
    pub location: Option<GeoPoint>,
    /// IANA zone of the customer's address, for local times.
    pub time_zone: Option<String>,
    pub product_model: Option<String>,
    pub fault_description: Option<String>,
    pub window: Option<TimeWindow>,
}

impl CustomerCard {
    pub fn of(s: &VisitState) -> Option<CustomerCard> {
        let a = s.assignment.as_ref()?;
        Some(CustomerCard {
            name: a.customer.name.clone(),
            phone: a.customer.phone.clone(),
            address: a.customer.address.clone(),
            location: a.customer.location,
            time_zone: a.customer.time_zone.clone(),
            product_model: a.product.model.clone(),
            fault_description: a.fault_description.clone(),
            window: s.window.or(a.requested_window),
        })
    }
}

/// The screen model of one visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitView {
    pub visit_id: Option<VisitId>,
    pub assignment_id: Option<AssignmentId>,
    pub trade: String,
    pub trade_name: Text,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub trip: u32,
    pub window: Option<TimeWindow>,
    /// The customer card (absent before the assignment arrives).
    #[serde(default)]
    pub customer: Option<CustomerCard>,
    pub conflict: Option<Conflict>,
    pub field_issues: Vec<FieldIssue>,
    pub next_actions: Vec<NextAction>,
    pub prompts: Vec<Prompt>,
    pub kit: Vec<ChecklistEntry>,
    pub quote: Option<Quote>,
    /// The quote's lines by name, in its order (the fee schedule's names:
    /// the quote itself binds only ids).
    #[serde(default)]
    pub quote_line_names: Vec<Text>,
    pub quote_accepted: bool,
    pub timers: Timers,
    /// Digest of the report as it stands (what the customer would sign now).
    pub report_digest: Option<String>,
    pub report_digest_short: Option<String>,
    pub signed: bool,
}

/// Label of a command, by its `type` (from the command table).
pub fn action_label(command: &str) -> Text {
    super::command_table::label_of(command)
}

fn prompt(code: &str, en: impl Into<String>, zh: impl Into<String>) -> Prompt {
    Prompt {
        code: code.into(),
        text: Text::new(en, zh),
    }
}

fn script_prompt(pb: &Playbook, moment: ScriptMoment, technician: &str) -> Prompt {
    let code = crate::wire::wire_name(&moment);
    Prompt {
        code: format!("script.{code}"),
        text: script(pb, moment, technician),
    }
}

/// Builds the screen model in the default business zone (Asia/Shanghai).
/// `technician` fills the scripts.
pub fn view(s: &VisitState, pb: &Playbook, now: DateTime<Utc>, technician: &str) -> VisitView {
    view_in(s, pb, now, technician, &BusinessZone::default())
}

/// Builds the screen model; the prompts' clock times are `zone`'s (the
/// business time zone the phone keeps from the server).
pub fn view_in(
    s: &VisitState,
    pb: &Playbook,
    now: DateTime<Utc>,
    technician: &str,
    zone: &BusinessZone,
) -> VisitView {
    let candidates = offered_actions(s, pb);
    let mut next_actions = vec![];
    for (cmd, required) in candidates {
        next_actions.push(NextAction {
            command: cmd.to_string(),
            label: action_label(cmd),
            required,
        });
    }
    let prompts = prompts(s, pb, now, technician, zone);
    let kit = pb
        .kit
        .iter()
        .map(|k| ChecklistEntry {
            id: k.id.clone(),
            name: k.name.clone(),
            mandatory: k.mandatory,
            status: match s.kit.get(&k.id) {
                Some(KitStatus::Checked) => "checked",
                Some(KitStatus::Skipped { .. }) => "skipped",
                None => "open",
            }
            .into(),
        })
        .collect();
    let mut timers = Timers {
        callbacks: callbacks::schedule(s, pb),
        ..Timers::default()
    };
    if let (Some(w), Some(d)) = (s.window, &s.departure) {
        timers.depart_by = Some(departure_plan(&w, d.travel_minutes, pb, now).latest_departure);
    } else if let Some((travel, plan)) = planned_departure(s, pb, now) {
        timers.leave_from = Some(plan.ideal_departure);
        timers.depart_by = Some(plan.latest_departure);
        timers.expected_travel = Some(travel);
    }
    if s.stage == Stage::AtDoor && !s.door.answered {
        if let Some(first) = s.door.knocks.first() {
            timers.call_customer_at = Some(clock::shift(
                *first,
                clock::minutes(pb.knock.call_after_minutes),
            ));
            timers.absent_allowed_at = Some(clock::shift(
                *first,
                clock::minutes(pb.knock.absent_minimum_minutes),
            ));
        }
        if let Some(last) = s.door.knocks.last() {
            timers.next_knock_at = Some(clock::shift(
                *last,
                clock::seconds(pb.knock.interval_seconds),
            ));
        }
    }
    let report = (s.stage == Stage::OnSite || s.sign_off.is_some()).then(|| match &s.sign_off {
        Some(so) => so.evidence.report_digest.clone(),
        None => Report::of(s, None, None, "").digest(),
    });
    VisitView {
        visit_id: s.visit_id,
        assignment_id: s.assignment_id().cloned(),
        trade: pb.id.to_string(),
        trade_name: pb.name.clone(),
        stage: s.stage,
        outcome: s.outcome,
        trip: s.trip,
        window: s.window,
        customer: CustomerCard::of(s),
        conflict: s.conflict.clone(),
        field_issues: s.open_field_issues().into_iter().cloned().collect(),
        next_actions,
        prompts,
        kit,
        quote: s.quote.clone(),
        quote_line_names: s.quote.as_ref().map_or_else(Vec::new, |q| {
            q.lines
                .iter()
                .map(|l| {
                    pb.fee(&l.item)
                        .map_or_else(|| Text::new(&l.item, &l.item), |f| f.name.clone())
                })
                .collect()
        }),
        quote_accepted: s.accepted_quote().is_some(),
        timers,
        report_digest_short: report.as_deref().map(|d| short_digest(d).to_string()),
        report_digest: report,
        signed: s.sign_off.is_some(),
    }
}

/// The commands worth offering at this point, with whether the standard
/// requires them. Each is a row of the command table; one whose step the
/// trade does not walk is not offered.
pub fn offered_actions(s: &VisitState, pb: &Playbook) -> Vec<(&'static str, bool)> {
    let mut out: Vec<(&'static str, bool)> = vec![];
    let mut add = |cmd: &'static str, required: bool| {
        if let Some(row) = row_named(cmd) {
            if row.in_playbook(pb) {
                out.push((row.name, required));
            }
        }
    };
    match s.stage {
        Stage::New => add("receive_assignment", true),
        Stage::Intake => {
            let issues = !s.open_field_issues().is_empty();
            if issues {
                add("verify_with_center", true);
                add("waive_fields", false);
            }
            if !s.triaged {
                add("record_triage", false);
            }
            if s.remote_fixable {
                add("resolve_remotely", false);
            }
            add("log_call", true);
            if !issues {
                add("confirm_appointment", true);
                add("proceed_unconfirmed", false);
            }
            add("report_window_conflict", false);
            if s.window_conflict {
                add("agree_new_window", true);
                add("hand_back_to_center", false);
            }
        }
        Stage::Scheduled => {
            // §2.4: the self-check is offered while an item is still open.
            let open = |mandatory_only: bool| {
                pb.kit
                    .iter()
                    .filter(|k| k.mandatory || !mandatory_only)
                    .any(|k| !s.kit.contains_key(&k.id))
            };
            if open(false) {
                add("check_kit_item", open(true));
                add("skip_kit_item", false);
            }
            if s.departure.is_none() {
                add("plan_travel", false);
            }
            add("depart", true);
            add("notify_running_late", false);
            add("agree_new_window", false);
            add("hand_back_to_center", false);
            if !pb.has(Step::Depart) {
                add("arrive", true);
            }
        }
        Stage::EnRoute => {
            add("arrive", true);
            add("notify_running_late", false);
        }
        Stage::AtDoor => {
            let late = s.arrival.as_ref().is_some_and(|a| a.punctuality.is_late());
            if late && !s.lateness_apologised {
                add("apologise_for_lateness", true);
            }
            if !s.appearance_checked {
                add("check_appearance", true);
            }
            if !s.door.answered {
                add("knock", true);
                if !s.door.knocks.is_empty() {
                    add("door_answered", false);
                    add("log_call", false);
                    if pb.knock.neighbour_check && !s.door.neighbour_asked {
                        add("ask_neighbour", false);
                    }
                    if !s.door.note_left {
                        add("leave_door_note", false);
                    }
                    if !s.door.center_notified {
                        add("notify_center_absent", false);
                    }
                    add("declare_customer_absent", false);
                }
            }
            if s.door.answered || !pb.has(Step::Knock) {
                add("enter", true);
            }
            add("record_entry_exception", false);
        }
        Stage::OnSite => on_site_actions(s, pb, &mut add),
        Stage::Closed => {}
    }
    out
}

fn on_site_actions(s: &VisitState, pb: &Playbook, add: &mut dyn FnMut(&'static str, bool)) {
    if pb.rules.shoe_covers && s.shoe_covers.is_none() {
        add("put_on_shoe_covers", true);
        add("waive_shoe_covers", false);
    }
    if pb.rules.drop_cloth && !s.drop_cloth_laid && s.drop_cloth_waiver.is_none() {
        // §2.4/§2.10: a drop cloth skipped at the kit check is not laid
        // later: its absence is recorded as a waiver.
        let skipped = matches!(
            s.kit.get(crate::playbook::DROP_CLOTH_KIT_ITEM),
            Some(KitStatus::Skipped { .. })
        );
        if skipped {
            add("waive_drop_cloth", true);
        } else {
            add("lay_drop_cloth", true);
            add("waive_drop_cloth", false);
        }
    }
    if s.sign_off.is_some() || s.declined.is_some() {
        add("reopen_report", false);
        if super::rules::acceptance::acceptance_due(s, pb) && !s.acceptance.settled() {
            add("enter_acceptance_code", true);
            add("withhold_acceptance_code", false);
        }
        if pb.has(Step::Belongings) && !s.belongings_checked {
            add("check_belongings", true);
        }
        add("leave", true);
        return;
    }
    if s.diagnosis.is_none() && pb.has(Step::Diagnose) {
        add("record_diagnosis", true);
        if pb.rules.data_risk_consent && !s.data_risk_warned {
            add("warn_data_risk", false);
        }
        add("record_entry_exception", false);
        return;
    }
    // §2.11: a fault not reproduced is reproduced with the customer and the
    // diagnosis recorded again before a repair on site.
    if pb.rules.reproduce_before_repair
        && s.diagnosis.as_ref().is_some_and(|d| {
            !d.fault_reproduced && d.decision == super::command::RepairDecision::FixOnSite
        })
    {
        add("record_diagnosis", true);
    }
    // §2.11: the data-risk warning comes before disk/OS work, usually after
    // the diagnosis; a quote with disk/OS work makes both required.
    let data_work = s
        .quote
        .as_ref()
        .is_some_and(|q| q.lines.iter().any(|l| pb.touches_data(&l.item)));
    if pb.rules.data_risk_consent && !s.data_risk_warned {
        add("warn_data_risk", data_work);
    }
    if pb.rules.data_risk_consent && s.data_risk_warned && s.backup_consent_digest.is_none() {
        add("sign_backup_consent", data_work);
    }
    if let Some(d) = &s.diagnosis {
        if d.decision == super::command::RepairDecision::TakeBack {
            if s.take_back.loaner_offered.is_none() {
                add("offer_loaner", true);
            }
            if s.take_back.appearance.is_none() {
                add("record_unit_appearance", true);
            }
            if s.take_back.receipt_digest.is_none() {
                add("sign_custody_receipt", true);
            }
            add("take_back", true);
            return;
        }
        if d.decision == super::command::RepairDecision::MissingPart {
            add("report_missing_part", true);
        }
    }
    // A bottle that failed inspection is replaced and the replacement inspected.
    let inspection_failed = s.inspected.values().any(|ok| !ok);
    if pb.has(Step::Inspect) && (s.quote.is_none() || inspection_failed) {
        add("inspect_item", true);
    }
    if !s.fee_schedule_shown {
        add("show_fee_schedule", true);
    } else if s.quote.is_none() || s.requote_pending {
        add("present_quote", true);
    }
    if s.quote.is_some() && s.accepted_quote().is_none() && !s.quote_refused {
        add("accept_quote", true);
        add("refuse_quote", false);
    }
    if pb.rules.guardian_present && s.guardian.is_none() {
        add("record_guardian", true);
    }
    let work_allowed = s.quote.is_some() && !s.quote_refused;
    if work_allowed {
        add("record_work", s.work.is_empty());
    }
    if !s.work.is_empty() {
        add("report_hidden_fault", false);
        if s.test_run.as_ref().is_none_or(|t| !t.passed) {
            add("record_test_run", true);
            add("schedule_untested_callback", false);
        }
        if !s.briefed {
            add("brief_customer", true);
        }
        if !s.cleaned_up {
            add("clean_up", true);
        }
    }
    if let Some(q) = s.accepted_quote() {
        if q.chargeable()
            && s.payment.is_none()
            && !s.payment_refused
            && (s.cleaned_up || !pb.has(Step::CleanUp))
        {
            // Once deferred, the center follows the payment up; the
            // technician may still take it if the customer pays after all.
            let deferred = s.payment_deferred.is_some();
            add("collect_payment", !deferred);
            if !deferred {
                add("defer_payment", false);
                add("refuse_payment", false);
            }
        }
    }
    // The e-fapiao is offered from the payment on (the rules take it at any
    // time on site once there is something to invoice).
    if s.accepted_quote().is_some_and(|q| q.chargeable())
        && s.invoice_request.is_none()
        && (s.cleaned_up || !pb.has(Step::CleanUp))
    {
        add("request_invoice", false);
    }
    if (s.cleaned_up || s.quote_refused) && s.sign_off.is_none() {
        add("sign_off", true);
        add("decline_signature", false);
    }
    if !pb.photos.is_empty() && s.sign_off.is_none() {
        let due =
            !crate::workflow::rules::photos::missing_required_photos(s, pb, Step::Leave).is_empty();
        add("take_photo", due);
        add("record_photo_not_taken", false);
    }
    add("record_incident", false);
}

/// STANDARDS §2.5 before departing: the plan from the expected travel time,
/// while the visit is scheduled and not yet on its way.
fn planned_departure(
    s: &VisitState,
    pb: &Playbook,
    now: DateTime<Utc>,
) -> Option<(TravelEstimate, DeparturePlan)> {
    if s.stage != Stage::Scheduled || s.departure.is_some() || !pb.has(Step::Depart) {
        return None;
    }
    let window = s.window?;
    let travel = expected_travel(s, pb)?;
    Some((travel, departure_plan(&window, travel.minutes, pb, now)))
}

/// The §2.5 prompt before departing: when to leave, at the business zone's
/// clock times and in minutes from now, or — when even leaving now arrives
/// after the window starts — the running-late call.
fn departure_prompts(
    s: &VisitState,
    pb: &Playbook,
    now: DateTime<Utc>,
    technician: &str,
    zone: &BusinessZone,
    out: &mut Vec<Prompt>,
) {
    let Some((travel, plan)) = planned_departure(s, pb, now) else {
        return;
    };
    let m = travel.minutes;
    let whole = |t: DateTime<Utc>| (t - now).num_minutes().max(0);
    if plan.late_risk || now > plan.latest_departure {
        if s.running_late_notified.is_none() {
            out.push(prompt(
                "late_risk",
                format!("With about {m} min of travel you cannot arrive 5 minutes early any more: call the customer before the appointment, apologise, and agree a new time or ask the center to reassign."),
                format!("预计路程约{m}分钟，已无法提前5分钟到达：请在约定时间前致电客户道歉，并改约时间或请服务中心改派。"),
            ));
            out.push(script_prompt(pb, ScriptMoment::RunningLate, technician));
        }
    } else if now >= plan.ideal_departure {
        let last = whole(plan.latest_departure);
        let by = zone.format_time(plan.latest_departure);
        out.push(prompt(
            "departure_plan",
            format!("Leave now, by {by} at the latest (in {last} min): about {m} min of travel."),
            format!("请现在出发，最迟{by}（{last}分钟内）：预计路程约{m}分钟。"),
        ));
    } else {
        let (a, b) = (whole(plan.ideal_departure), whole(plan.latest_departure));
        let (from, by) = (
            zone.format_time(plan.ideal_departure),
            zone.format_time(plan.latest_departure),
        );
        out.push(prompt(
            "departure_plan",
            format!("Leave between {from} and {by} (between {a} and {b} min from now): about {m} min of travel, to arrive 5-10 minutes early."),
            format!("请在{from}至{by}之间出发（{a}至{b}分钟后）：预计路程约{m}分钟，提前5至10分钟到达。"),
        ));
    }
}

/// STANDARDS §2.1: the fields the center waived, as the order carried
/// them, so the technician confirms without them and knows who said so.
fn center_waiver_prompt(s: &VisitState) -> Option<Prompt> {
    let waivers = &s.assignment.as_ref()?.center_waivers;
    let last = waivers.last()?;
    let mut fields: Vec<AssignmentField> = vec![];
    for f in waivers.iter().flat_map(|w| &w.fields) {
        if !fields.contains(f) {
            fields.push(*f);
        }
    }
    let en: Vec<&str> = fields.iter().map(|f| f.en()).collect();
    let zh: Vec<&str> = fields.iter().map(|f| f.zh()).collect();
    let (who, code) = (&last.approved_by, &last.approval_code);
    Some(prompt(
        "center_waived",
        format!(
            "The center waived: {} (approved by {who}, reference {code}). Confirm the appointment without them.",
            en.join(", ")
        ),
        format!(
            "服务中心已确认免填：{}（{who}批准，编号{code}），可直接确认预约。",
            zh.join("、")
        ),
    ))
}

fn prompts(
    s: &VisitState,
    pb: &Playbook,
    now: DateTime<Utc>,
    technician: &str,
    zone: &BusinessZone,
) -> Vec<Prompt> {
    let mut out = vec![];
    match s.stage {
        Stage::Intake => {
            if !s.open_field_issues().is_empty() {
                out.push(prompt(
                    "missing_information",
                    "Information is missing or inconsistent: verify with the center before confirming.",
                    "工单信息不全或不一致：确认预约前请与服务中心核实。",
                ));
            }
            out.extend(center_waiver_prompt(s));
            if s.assignment
                .as_ref()
                .is_some_and(|a| a.product.warranty != crate::assignment::Warranty::InWarranty)
                && pb.has(Step::Quote)
            {
                out.push(prompt(
                    "out_of_warranty",
                    "Out of warranty (or unknown): tell the customer the visit may be chargeable; bring the fee schedule and receipts.",
                    "产品已过保或保修状态不明：请告知客户可能收费，并携带收费标准和收据。",
                ));
            }
            out.push(script_prompt(pb, ScriptMoment::AppointmentCall, technician));
        }
        Stage::Scheduled | Stage::EnRoute => {
            if let Some(d) = &s.departure {
                if d.late_risk && s.running_late_notified.is_none() {
                    out.push(prompt(
                        "late_risk",
                        "You will arrive late: call the customer before the appointment, apologise, and agree a new time or ask the center to reassign.",
                        "预计会迟到：请在约定时间前致电客户道歉，并改约时间或请服务中心改派。",
                    ));
                    out.push(script_prompt(pb, ScriptMoment::RunningLate, technician));
                }
            }
            departure_prompts(s, pb, now, technician, zone, &mut out);
            let planned = planned_departure(s, pb, now).is_some();
            if let (None, Some(w), false) = (&s.departure, s.window, planned) {
                let leave_by = clock::shift(
                    w.start,
                    -clock::minutes(pb.timing.early_arrival_max_minutes),
                );
                if now > leave_by && s.stage == Stage::Scheduled {
                    out.push(prompt(
                        "behind_schedule",
                        "It is past the time to arrive 10 minutes early: depart now, or call the customer.",
                        "已过提前10分钟到达的时间：请立即出发，或致电客户。",
                    ));
                }
            }
        }
        Stage::AtDoor => {
            if let Some(a) = &s.arrival {
                match a.punctuality {
                    Punctuality::LateSerious { minutes_late } if !s.lateness_apologised => out.push(prompt(
                        "late_serious",
                        format!("{minutes_late} min late: apologise sincerely and offer a small gift; if not accepted, a manager visits."),
                        format!("迟到{minutes_late}分钟：请诚恳道歉并赠送小礼品；客户不接受时由主管上门。"),
                    )),
                    Punctuality::LateMinor { minutes_late } if !s.lateness_apologised => out.push(prompt(
                        "late_minor",
                        format!("{minutes_late} min late: apologise (traffic) and offer to reschedule if the customer is in a hurry."),
                        format!("迟到{minutes_late}分钟：请道歉并说明原因；如客户赶时间，可提出改约。"),
                    )),
                    _ => {}
                }
            }
            if !s.door.answered {
                out.push(prompt(
                    "knock_protocol",
                    format!(
                        "Ring the bell if there is one, else {} rounds of {} light knocks; repeat every {} s; phone after {} min.",
                        pb.knock.rounds, pb.knock.knocks_per_round, pb.knock.interval_seconds, pb.knock.call_after_minutes
                    ),
                    format!(
                        "有门铃先按门铃，否则轻敲{}轮、每轮{}下；每{}秒重复一次；{}分钟后给客户打电话。",
                        pb.knock.rounds, pb.knock.knocks_per_round, pb.knock.interval_seconds, pb.knock.call_after_minutes
                    ),
                ));
                out.push(prompt(
                    "conduct",
                    pb.conduct_reminder.en.clone(),
                    pb.conduct_reminder.zh.clone(),
                ));
            } else {
                out.push(script_prompt(pb, ScriptMoment::AtTheDoor, technician));
            }
        }
        Stage::OnSite => {
            if s.quote_refused || s.payment_refused {
                out.push(script_prompt(pb, ScriptMoment::ThreeGuarantees, technician));
            }
            // §1 heating (and the trades that switch it on): paid services
            // are announced as paid before any work.
            if let Some(q) = s.quote.as_ref().filter(|q| q.chargeable()) {
                if pb.rules.announce_paid_services
                    && s.accepted_quote().is_none()
                    && !s.quote_refused
                {
                    let total = crate::money::format_yuan(q.customer_total);
                    out.push(prompt(
                        "announce_paid_services",
                        format!("This is a paid service: tell the customer it is charged ({total}) before any work, and start only once the quote is accepted."),
                        format!("本次为有偿服务：开始前请告知客户需要收费（{total}），客户确认报价后再开始。"),
                    ));
                }
            }
            // §1 home care, §4: gifts from the client are declined.
            if pb.rules.no_gifts && s.sign_off.is_none() && s.declined.is_none() {
                out.push(prompt(
                    "no_gifts",
                    "No gifts: thank the client and decline anything offered (money, gifts, food); record a declined gift as an incident.",
                    "不收礼：如客户赠送钱物或食品，请致谢并婉拒，并记录为事件。",
                ));
            }
            if !s.work.is_empty() && s.test_run.is_none() {
                out.push(script_prompt(
                    pb,
                    ScriptMoment::TestWithCustomer,
                    technician,
                ));
            }
            if s.cleaned_up && s.sign_off.is_none() {
                out.push(script_prompt(pb, ScriptMoment::EndOfService, technician));
            }
            if pb.rules.no_deposit_iou && s.accepted_quote().is_some() && s.payment.is_none() {
                out.push(prompt(
                    "step_back_to_pay",
                    "Step back to the door while the customer pays. The bottle deposit is never an IOU.",
                    "客户付款时请退到门口等候。桶押金不能打欠条。",
                ));
            }
            if s.sign_off.is_some() || s.declined.is_some() {
                acceptance_prompt(s, pb, &mut out);
                out.push(script_prompt(pb, ScriptMoment::Farewell, technician));
            }
            if s.sign_off
                .as_ref()
                .is_some_and(|so| !so.ratings.satisfied())
                || s.declined.is_some()
            {
                out.push(script_prompt(pb, ScriptMoment::UpsetCustomer, technician));
            }
        }
        _ => {}
    }
    if let Some(c) = &s.conflict {
        out.push(prompt(
            "conflict",
            format!("The center changed this assignment after you started ({:?}). Your records are kept; the center will decide.", c.kind),
            "您开始服务后服务中心变更了工单。您的记录全部保留，由服务中心处理。".to_string(),
        ));
    }
    out
}

/// Issue 19: what the acceptance code needs before leaving — ask for it,
/// how many wrong codes the phone still checks, or that the codes now go to
/// the center.
fn acceptance_prompt(s: &VisitState, pb: &Playbook, out: &mut Vec<Prompt>) {
    let a = &s.acceptance;
    if !super::rules::acceptance::acceptance_due(s, pb) || a.settled() {
        return;
    }
    let left = crate::acceptance_code::OFFLINE_ATTEMPTS.saturating_sub(a.wrong_codes);
    out.push(if a.wrong_codes == 0 {
        prompt(
            "acceptance_code",
            "Ask the customer for the 6-digit acceptance code the center sent by SMS, and enter it. It does not replace the signature.",
            "请客户提供服务中心短信发送的6位验收码并输入。验收码不能代替客户签字。",
        )
    } else if left > 0 {
        prompt(
            "acceptance_code_wrong",
            format!("That code is not the one issued for this order. Ask the customer to read it again from the SMS: {left} more wrong codes and the phone stops checking."),
            format!("验收码不正确。请客户再次核对短信中的验收码；再输错{left}次，手机将停止核对。"),
        )
    } else {
        let n = a.wrong_codes;
        prompt(
            "acceptance_code_to_center",
            format!("{n} wrong codes: the phone no longer checks the code. Enter the code the customer gives; the center checks it and follows up."),
            format!("已输错{n}次：手机不再核对验收码。请输入客户提供的验收码，由服务中心核对并跟进。"),
        )
    });
}

/// Convenience for callers that hold a command: its label.
pub fn command_label(cmd: &VisitCommand) -> Text {
    action_label(&cmd.name())
}
