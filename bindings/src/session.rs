//! `VisitSession`: one visit held in memory (no store), driven by commands.
//! A thin wrapper over `doorstep_core::workflow::Visit`: the shell sends
//! commands as JSON (validated here, on the Rust side, against the same
//! command schema the CLI scripts use) with the time they were given, and
//! reads back typed screen records. Every rule stays in the core.
//!
//! The durable equivalent over the local store comes with the store; this
//! object serves demos, training and the JVM tests.

use crate::error::{guard, DoorstepError};
use crate::forms::{core_values, ActionForm, FormValue};
use crate::playbooks::{parse_custom, shipped};
use crate::types::{
    CommandResult, CustomerSignOff, Location, ReportDigest, Timestamp, VisitScreen,
};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::workflow::view::{view, VisitView};
use doorstep_core::workflow::{action_forms, fill, LiveStamper};
use doorstep_core::{Context, DeviceId, Playbook, Visit, VisitCommand};
use std::sync::{Mutex, MutexGuard};

struct Inner {
    visit: Visit,
    stamper: LiveStamper,
    device: DeviceId,
    technician: String,
}

/// One visit in memory.
#[derive(uniffi::Object)]
pub struct VisitSession {
    inner: Mutex<Inner>,
}

impl VisitSession {
    fn build(
        playbook: Playbook,
        device_id: &str,
        technician_name: String,
    ) -> Result<Self, DoorstepError> {
        Ok(Self {
            inner: Mutex::new(Inner {
                visit: Visit::new(playbook),
                stamper: LiveStamper::default(),
                device: DeviceId::new(device_id)?,
                technician: technician_name,
            }),
        })
    }

    /// The lock; a session whose lock was poisoned by a panic mid-command may
    /// hold a half-applied state, so it refuses further use.
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, DoorstepError> {
        self.inner.lock().map_err(|_| {
            DoorstepError::internal(
                "session_poisoned",
                "This visit session failed earlier and can no longer be used. Open it again.",
                "该服务会话此前发生错误，已不能继续使用。请重新打开。",
            )
        })
    }

    fn run(
        &self,
        command: VisitCommand,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        guard(|| {
            let mut inner = self.lock()?;
            let mut ctx = Context::new(now, inner.device.clone());
            ctx.location = location.map(Into::into);
            let Inner { visit, stamper, .. } = &mut *inner;
            let events = visit
                .handle(&command, &ctx, stamper)?
                .iter()
                .map(|e| event_type(&e.kind))
                .collect();
            Ok(CommandResult {
                events,
                screen: typed_screen(&inner, now),
            })
        })
    }

    fn current_view(&self, now: Timestamp) -> Result<VisitView, DoorstepError> {
        guard(|| Ok(screen_of(&*self.lock()?, now)))
    }
}

fn screen_of(inner: &Inner, now: chrono::DateTime<chrono::Utc>) -> VisitView {
    view(
        &inner.visit.state,
        &inner.visit.playbook,
        now,
        &inner.technician,
    )
}

fn typed_screen(inner: &Inner, now: chrono::DateTime<chrono::Utc>) -> VisitScreen {
    VisitScreen::of(
        screen_of(inner, now),
        &inner.visit.playbook,
        inner.visit.state.appearance_checked,
    )
}

/// The `type` tag of an event kind (`knocked`, `customer_signed_off`, …).
pub(crate) use doorstep_core::wire::wire_name as event_type;

#[uniffi::export]
impl VisitSession {
    /// A new visit under a shipped trade's playbook, on this device, for the
    /// named technician (scripts read the name to the customer).
    #[uniffi::constructor]
    pub fn new(
        trade_id: String,
        device_id: String,
        technician_name: String,
    ) -> Result<Self, DoorstepError> {
        guard(|| Self::build(shipped(&trade_id)?, &device_id, technician_name))
    }

    /// A new visit under a custom playbook (JSON, as `validate_playbook`
    /// takes it), validated first.
    #[uniffi::constructor]
    pub fn with_playbook(
        playbook_json: String,
        device_id: String,
        technician_name: String,
    ) -> Result<Self, DoorstepError> {
        guard(|| Self::build(parse_custom(&playbook_json)?, &device_id, technician_name))
    }

    /// Applies one command, given as JSON like `{"type": "depart",
    /// "travel_minutes": 20}` (the schema of docs/SCRIPTS.md), at `now`, with
    /// the phone's location fix if it has one. A refusal leaves the visit
    /// unchanged and says which rule refused it.
    pub fn apply(
        &self,
        command_json: String,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        let command: VisitCommand =
            serde_json::from_str(&command_json).map_err(|e| DoorstepError::invalid_command(&e))?;
        self.run(command, now, location)
    }

    /// The customer rates and signs the report on screen.
    pub fn sign_off(
        &self,
        sign_off: CustomerSignOff,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        self.run(sign_off.into_command(), now, location)
    }

    /// The customer declined to sign; recorded as such, never faked.
    pub fn decline_signature(
        &self,
        reason: String,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        self.run(VisitCommand::DeclineSignature { reason }, now, location)
    }

    /// Records the center's assignment (its JSON, as the center sends it):
    /// the first starts the visit, a higher version updates it.
    pub fn receive_assignment(
        &self,
        assignment_json: String,
        now: Timestamp,
    ) -> Result<CommandResult, DoorstepError> {
        let assignment: doorstep_core::Assignment = serde_json::from_str(&assignment_json)
            .map_err(|e| {
                DoorstepError::invalid_input(
                    "invalid_assignment",
                    format!("The assignment could not be read: {e}."),
                    format!("无法识别该工单：{e}。"),
                )
            })?;
        self.run(
            VisitCommand::ReceiveAssignment {
                assignment: Box::new(assignment),
            },
            now,
            None,
        )
    }

    /// The form of every action the visit offers now (see `DeviceStore::action_forms`).
    pub fn action_forms(&self) -> Result<Vec<ActionForm>, DoorstepError> {
        guard(|| {
            let inner = self.lock()?;
            Ok(action_forms(&inner.visit.state, &inner.visit.playbook)
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Fills `action`'s form with `values` and applies the command (see
    /// `DeviceStore::submit_action`).
    pub fn submit_action(
        &self,
        action: String,
        values: Vec<FormValue>,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        let command = guard(|| {
            let inner = self.lock()?;
            Ok(fill(
                &action,
                &core_values(values),
                &inner.visit.state,
                &inner.visit.playbook,
                // A session's commands run in the default business zone (its `Context`).
                &BusinessZone::default(),
            )?)
        })?;
        self.run(command, now, location)
    }

    /// The visit as a screen shows it at `now` (timers and prompts depend on the time).
    pub fn screen(&self, now: Timestamp) -> Result<VisitScreen, DoorstepError> {
        guard(|| Ok(typed_screen(&*self.lock()?, now)))
    }

    /// The same view as JSON (the CLI's shape), for logging and web views.
    pub fn screen_json(&self, now: Timestamp) -> Result<String, DoorstepError> {
        let v = self.current_view(now)?;
        serde_json::to_string(&v).map_err(|e| {
            DoorstepError::internal(
                "internal",
                &format!("view serialisation: {e}"),
                "视图序列化失败",
            )
        })
    }

    /// The digest of the report as it stands (what the customer would sign
    /// now), or the signed one; `None` before the technician is on site.
    pub fn report_digest(&self, now: Timestamp) -> Result<Option<ReportDigest>, DoorstepError> {
        Ok(self.screen(now)?.report_digest)
    }

    /// The digest of exactly what the customer would sign with these ratings,
    /// comment and consent text (strokes and `shown_digest` are ignored): the
    /// signing screen shows its short form and passes the full one back as
    /// `shown_digest`, so signing is refused if the report changed meanwhile.
    pub fn preview_sign_off(
        &self,
        sign_off: CustomerSignOff,
    ) -> Result<ReportDigest, DoorstepError> {
        guard(|| {
            let inner = self.lock()?;
            Ok(sign_off.preview(&inner.visit.state))
        })
    }

    /// How many events the visit has recorded.
    pub fn event_count(&self) -> Result<u64, DoorstepError> {
        guard(|| Ok(self.lock()?.visit.events.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::Lang;
    use std::time::{Duration, SystemTime};

    fn session() -> VisitSession {
        VisitSession::new("appliance_repair".into(), "dev-1".into(), "Wang Wei".into()).unwrap()
    }

    /// 2026-11-25T08:00:00Z plus `minutes`.
    fn t(minutes: u64) -> Timestamp {
        (SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_593_600 + minutes * 60)).into()
    }

    const ASSIGNMENT: &str = r#"{"type": "receive_assignment", "assignment": {
        "id": "A-1001", "version": 1, "trade": "appliance_repair", "technician": "T-7",
        "customer": {"name": "Li Hua", "phone": "138-0013-8000",
            "address": "Room 1201, 88 Century Avenue, Pudong, Shanghai",
            "location": {"lat": 31.2304, "lon": 121.4737}, "time_zone": "Asia/Shanghai"},
        "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
        "fault_description": "Not cooling",
        "requested_window": {"start": "2026-11-25T10:00:00Z", "end": "2026-11-25T12:00:00Z"},
        "received_at": "2026-11-25T07:30:00Z"}}"#;

    #[test]
    fn receiving_an_assignment_moves_to_intake() {
        let s = session();
        let r = s.apply(ASSIGNMENT.into(), t(0), None).unwrap();
        assert_eq!(r.events, vec!["assignment_received".to_string()]);
        assert_eq!(r.screen.stage, crate::types::VisitStage::Intake);
        assert_eq!(r.screen.assignment_id.as_deref(), Some("A-1001"));
        assert!(r.screen.window.is_some());
        assert!(!r.screen.appearance.is_empty());
        assert!(r.screen.appearance.iter().all(|a| a.status == "open"));
        assert_eq!(s.event_count().unwrap(), 1);
        let json = s.screen_json(t(1)).unwrap();
        assert!(json.contains("\"stage\":\"intake\""));
        assert!(s.report_digest(t(1)).unwrap().is_none());
    }

    #[test]
    fn a_refusal_has_the_rule_code_and_chinese_text() {
        let s = session();
        s.apply(ASSIGNMENT.into(), t(0), None).unwrap();
        let e = s
            .apply(
                r#"{"type": "depart", "travel_minutes": 20}"#.into(),
                t(5),
                None,
            )
            .unwrap_err();
        assert!(matches!(e, DoorstepError::Refused { .. }));
        assert!(!e.code().is_empty());
        assert!(!e.text(Lang::ZhCn).is_empty());
        assert_eq!(s.event_count().unwrap(), 1, "a refusal records nothing");
    }

    #[test]
    fn malformed_commands_and_ids_are_invalid_input() {
        let s = session();
        let e = s
            .apply("{\"type\": \"fly\"}".into(), t(0), None)
            .unwrap_err();
        assert_eq!(e.code(), "invalid_command");
        assert!(e.text(Lang::ZhCn).starts_with("无法识别"));
        let e = VisitSession::new("appliance_repair".into(), "bad id".into(), "x".into())
            .err()
            .unwrap();
        assert_eq!(e.code(), "invalid_id");
        let e = VisitSession::with_playbook("nope".into(), "dev-1".into(), "x".into())
            .err()
            .unwrap();
        assert_eq!(e.code(), "invalid_playbook");
    }

    #[test]
    fn signing_before_the_work_is_refused_and_declining_is_recorded_only_on_site() {
        let s = session();
        s.apply(ASSIGNMENT.into(), t(0), None).unwrap();
        let so = CustomerSignOff {
            quality: 5,
            attitude: 5,
            comment: None,
            strokes: vec![],
            consent_text: "ok".into(),
            shown_digest: None,
        };
        assert!(matches!(
            s.sign_off(so, t(1), None).unwrap_err(),
            DoorstepError::Refused { .. }
        ));
        assert!(matches!(
            s.decline_signature("busy".into(), t(1), None).unwrap_err(),
            DoorstepError::Refused { .. }
        ));
    }

    #[test]
    fn a_poisoned_session_refuses_further_use() {
        let s = session();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = s.inner.lock().unwrap();
            panic!("simulated panic while holding the visit");
        }));
        let e = s.screen(t(0)).unwrap_err();
        assert_eq!(e.code(), "session_poisoned");
        let e = s.apply(ASSIGNMENT.into(), t(0), None).unwrap_err();
        assert_eq!(e.code(), "session_poisoned");
    }

    #[test]
    fn the_sign_off_preview_binds_ratings_and_consent() {
        let s = session();
        s.apply(ASSIGNMENT.into(), t(0), None).unwrap();
        let so = |quality| CustomerSignOff {
            quality,
            attitude: 5,
            comment: None,
            strokes: vec![],
            consent_text: "I confirm.".into(),
            shown_digest: None,
        };
        let a = s.preview_sign_off(so(5)).unwrap();
        assert_eq!(a.full.len(), 64);
        assert_eq!(&a.full[..8], a.short);
        assert_eq!(a, s.preview_sign_off(so(5)).unwrap());
        assert_ne!(a, s.preview_sign_off(so(4)).unwrap());
    }

    #[test]
    fn a_custom_playbook_session_works_like_a_shipped_one() {
        let text = crate::playbooks::shipped_playbook_json("appliance_repair".into()).unwrap();
        let s = VisitSession::with_playbook(text, "dev-1".into(), "Wang".into()).unwrap();
        assert_eq!(s.screen(t(0)).unwrap().trade, "appliance_repair");
    }
}
