//! `DeviceStore`: the phone's durable local store over the FFI (a thin
//! wrapper over `doorstep_core::store::Store`). Open it once per app process,
//! receive assignments, list today's visits, read a visit's screen, apply
//! commands, record the customer's signature or a decline. Every write is
//! the core's single transaction (event + projection + outbox); this file
//! only converts arguments and results.
//!
//! Visits are addressed by their assignment id (what the shell shows and
//! what the center sends), validated when it crosses. `close` releases the
//! database; calls after it fail with `store_closed` instead of crashing.
//! Syncing with the server is `crate::sync::Syncer`, over this store.

use crate::device_key::{DeviceKeyHolder, ForeignDeviceKey};
use crate::discount_key::{DiscountKeyHolder, ForeignDiscountKey};
use crate::error::{guard, DoorstepError};
use crate::forms::{core_values, ActionForm, FormValue};
use crate::sync::SyncStatus;
use crate::times::LocalTimes;
use crate::types::{
    CommandResult, CustomerSignOff, Location, ReportDigest, ReportLine, Timestamp, VisitOutcome,
    VisitScreen, VisitStage, Window,
};
use chrono::{Duration, FixedOffset};
use doorstep_core::assignment::Assignment;
use doorstep_core::protocol::ChangeKind;
use doorstep_core::store::{Enrollment, Store};
use doorstep_core::workflow::{action_forms, fill};
use doorstep_core::{AssignmentId, DeviceId, TechnicianId, VisitCommand};
use std::sync::{Arc, RwLock};

/// One line of today's list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitListItem {
    pub visit_id: String,
    pub assignment_id: String,
    pub trade: String,
    pub stage: VisitStage,
    pub outcome: Option<VisitOutcome>,
    pub window: Option<Window>,
    pub closed: bool,
    /// The center changed the assignment after the technician started.
    pub conflict: bool,
    pub customer_name: Option<String>,
    pub address: Option<String>,
}

impl From<doorstep_core::store::VisitSummary> for VisitListItem {
    fn from(v: doorstep_core::store::VisitSummary) -> Self {
        Self {
            visit_id: v.visit_id.to_string(),
            assignment_id: v.assignment_id.to_string(),
            trade: v.trade,
            stage: v.stage,
            outcome: v.outcome,
            window: v.window.map(|w| Window {
                start: w.start,
                end: w.end,
            }),
            closed: v.closed,
            conflict: v.conflict,
            customer_name: v.customer_name,
            address: v.address,
        }
    }
}

/// The enrolled device a store belongs to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceInfo {
    pub device_id: String,
    pub technician_id: String,
    pub technician_name: String,
}

/// The phone's local store.
#[derive(uniffi::Object)]
pub struct DeviceStore {
    inner: RwLock<Option<Arc<Store>>>,
}

impl DeviceStore {
    /// The open store, or `store_closed`.
    pub(crate) fn store(&self) -> Result<Arc<Store>, DoorstepError> {
        let closed = || DoorstepError::Store {
            code: "store_closed".into(),
            en: "The store is closed: open it again.".into(),
            zh: "本机数据已关闭，请重新打开。".into(),
        };
        match self.inner.read() {
            Ok(g) => g.clone().ok_or_else(closed),
            Err(p) => p.into_inner().clone().ok_or_else(closed),
        }
    }

    /// The visit's screen as it stands (what a command's result carries).
    pub(crate) fn screen_of(
        store: &Store,
        id: &AssignmentId,
        now: Timestamp,
    ) -> Result<VisitScreen, DoorstepError> {
        Self::screen_in(store, id, now)
    }

    fn screen_in(
        store: &Store,
        id: &AssignmentId,
        now: Timestamp,
    ) -> Result<VisitScreen, DoorstepError> {
        let state = store.state(id)?;
        let v = store.view(id, now)?;
        let pb = store.playbook_of(id)?;
        Ok(VisitScreen::of(v, &pb, state.appearance_checked))
    }

    pub(crate) fn run(
        &self,
        assignment_id: &str,
        command: VisitCommand,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            let id = AssignmentId::new(assignment_id)?;
            let events = store.apply_command(&id, &command, now, location.map(Into::into))?;
            Ok(CommandResult {
                events: events
                    .iter()
                    .map(|e| crate::session::event_type(&e.kind))
                    .collect(),
                screen: Self::screen_in(&store, &id, now)?,
            })
        })
    }
}

#[uniffi::export]
impl DeviceStore {
    /// Opens the store file at `path`, creating it and enrolling this device
    /// if it does not exist. An existing store must belong to `device_id`.
    /// A damaged or foreign file is refused and left untouched.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        device_id: String,
        technician_id: String,
        technician_name: String,
    ) -> Result<Self, DoorstepError> {
        guard(|| {
            let enrollment = Enrollment {
                device_id: DeviceId::new(device_id)?,
                technician_id: TechnicianId::new(technician_id)?,
                technician_name,
            };
            let store = Store::open(&path, &enrollment)?;
            Ok(Self {
                inner: RwLock::new(Some(Arc::new(store))),
            })
        })
    }

    /// Closes the database (named so it does not clash with Kotlin's
    /// `AutoCloseable.close`, which releases the native object). Calls in
    /// flight finish first; later calls fail with `store_closed`. Closing
    /// twice is harmless.
    pub fn close_store(&self) {
        let mut g = match self.inner.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = None;
    }

    /// Who this store belongs to.
    pub fn device(&self) -> Result<DeviceInfo, DoorstepError> {
        guard(|| {
            let d = self.store()?.device()?;
            Ok(DeviceInfo {
                device_id: d.device_id.to_string(),
                technician_id: d.technician_id.to_string(),
                technician_name: d.technician_name,
            })
        })
    }

    /// Records an assignment from the center (its JSON, as the center sends
    /// it): a new one creates its visit, a higher version updates it, a
    /// re-delivered or older one changes nothing. Returns the visit's screen.
    pub fn receive_assignment(
        &self,
        assignment_json: String,
        now: Timestamp,
    ) -> Result<VisitScreen, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            let assignment: Assignment = serde_json::from_str(&assignment_json).map_err(|e| {
                DoorstepError::invalid_input(
                    "invalid_assignment",
                    format!("The assignment could not be read: {e}."),
                    format!("无法识别该工单：{e}。"),
                )
            })?;
            let id = assignment.id.clone();
            store.receive_assignment(
                &ChangeKind::Assignment {
                    assignment: Box::new(assignment),
                },
                now,
            )?;
            Self::screen_in(&store, &id, now)
        })
    }

    /// The visits whose window starts on the technician's day containing
    /// `now`, at `utc_offset_minutes` from UTC (480 for China), by window
    /// start. Prefer `business_day_visits`: the day of the business time
    /// zone, whatever the phone's own offset.
    pub fn todays_visits(
        &self,
        now: Timestamp,
        utc_offset_minutes: i32,
    ) -> Result<Vec<VisitListItem>, DoorstepError> {
        guard(|| {
            let offset = utc_offset_minutes
                .checked_mul(60)
                .and_then(FixedOffset::east_opt)
                .ok_or_else(|| {
                    DoorstepError::invalid_input(
                        "invalid_input",
                        format!("UTC offset {utc_offset_minutes} min is out of range (±18 h)."),
                        format!("时区偏移{utc_offset_minutes}分钟超出范围（±18小时）。"),
                    )
                })?;
            let local = now + Duration::seconds(i64::from(offset.local_minus_utc()));
            let visits = self.store()?.visits_on(local.date_naive(), offset)?;
            Ok(visits.into_iter().map(Into::into).collect())
        })
    }

    /// The business time zone's IANA name (sent by the server with every
    /// sync; Asia/Shanghai until the first one).
    pub fn business_zone_name(&self) -> Result<String, DoorstepError> {
        guard(|| Ok(self.store()?.business_zone()?.name))
    }

    /// The visits whose window starts on the business day containing `now`
    /// (the business time zone's, never the phone's own), by window start.
    pub fn business_day_visits(&self, now: Timestamp) -> Result<Vec<VisitListItem>, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            let day = store.business_today(now)?;
            let visits = store.visits_on_business_day(day)?;
            Ok(visits.into_iter().map(Into::into).collect())
        })
    }

    /// The key that signs every sign-off's evidence from now on: the
    /// platform keystore's, the one registered at enrolment. Set it each
    /// time the store is opened; without one, sign-offs go unsigned and the
    /// center's reconciliation flags them.
    pub fn use_device_key(&self, key: Arc<dyn DeviceKeyHolder>) -> Result<(), DoorstepError> {
        guard(|| {
            self.store()?
                .set_device_key(Arc::new(ForeignDeviceKey(key)));
            Ok(())
        })
    }

    /// The key the center's offline discount codes are checked with from
    /// now on (STANDARDS §2.12): the discount secret enrolment issued, in
    /// the platform keystore. Set it each time the store is opened; without
    /// one, a discount is approved only online (the approval the work order
    /// carries), and a short code is refused as unknown.
    pub fn use_discount_key(&self, key: Arc<dyn DiscountKeyHolder>) -> Result<(), DoorstepError> {
        guard(|| {
            self.store()?
                .set_discount_key(Arc::new(ForeignDiscountKey(key)));
            Ok(())
        })
    }

    /// Pins the server's playbook key (`Enrolment::playbook_key`): from now
    /// on the store keeps only the company playbooks it signed, and every
    /// visit walks the version it started with. Call it once, when the
    /// store is created at enrolment.
    pub fn trust_playbook_key(&self, key: String) -> Result<(), DoorstepError> {
        guard(|| Ok(self.store()?.trust_playbook_key(&key, chrono::Utc::now())?))
    }

    /// Every time and window the screens show, in the business time zone
    /// (as kept now: read it again after a sync), never the phone's own.
    /// The shells format no time themselves.
    pub fn local_times(&self) -> Result<Arc<LocalTimes>, DoorstepError> {
        guard(|| Ok(LocalTimes::of(self.store()?.business_zone()?)))
    }

    /// The visit's screen at `now`.
    pub fn visit_screen(
        &self,
        assignment_id: String,
        now: Timestamp,
    ) -> Result<VisitScreen, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            Self::screen_in(&store, &AssignmentId::new(assignment_id)?, now)
        })
    }

    /// Applies one command (JSON, docs/SCRIPTS.md) to the visit, durably.
    /// A refusal writes nothing and says which rule refused.
    pub fn apply_command(
        &self,
        assignment_id: String,
        command_json: String,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        let command: VisitCommand =
            serde_json::from_str(&command_json).map_err(|e| DoorstepError::invalid_command(&e))?;
        self.run(&assignment_id, command, now, location)
    }

    /// The form of every action the visit offers now, in the order of its
    /// `next_actions`: fields, kinds, bounds, defaults, choices, zh/en labels.
    pub fn action_forms(&self, assignment_id: String) -> Result<Vec<ActionForm>, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            let id = AssignmentId::new(assignment_id)?;
            let state = store.state(&id)?;
            let pb = store.playbook_of(&id)?;
            Ok(action_forms(&state, &pb)
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Fills `action`'s form with `values` (unset fields take their
    /// defaults) and applies the command, durably. A bad field fails with
    /// `invalid_form` naming every bad field; a rule's refusal with
    /// `Refused`. Either way nothing is written.
    pub fn submit_action(
        &self,
        assignment_id: String,
        action: String,
        values: Vec<FormValue>,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        let command = guard(|| {
            let store = self.store()?;
            let id = AssignmentId::new(assignment_id.clone())?;
            let state = store.state(&id)?;
            let pb = store.playbook_of(&id)?;
            let zone = store.business_zone()?;
            Ok(fill(&action, &core_values(values), &state, &pb, &zone)?)
        })?;
        self.run(&assignment_id, command, now, location)
    }

    /// The digest of exactly what the customer would sign with these ratings,
    /// comment and consent text; pass it back as `shown_digest` when signing.
    pub fn preview_sign_off(
        &self,
        assignment_id: String,
        sign_off: CustomerSignOff,
    ) -> Result<ReportDigest, DoorstepError> {
        guard(|| {
            let state = self.store()?.state(&AssignmentId::new(assignment_id)?)?;
            Ok(sign_off.preview(&state))
        })
    }

    /// The report the customer is about to sign, one labelled line per fact
    /// (arrival, cause, work and parts, hidden faults, test run, the priced
    /// lines and total, the payment, the photos), in the business time
    /// zone: what the signing screen shows beside the digest.
    pub fn report_lines(&self, assignment_id: String) -> Result<Vec<ReportLine>, DoorstepError> {
        guard(|| {
            let store = self.store()?;
            let id = AssignmentId::new(assignment_id)?;
            let state = store.state(&id)?;
            let pb = store.playbook_of(&id)?;
            let zone = store.business_zone()?;
            let report = doorstep_core::workflow::report::Report::of(&state, None, None, "");
            Ok(
                doorstep_core::workflow::report_summary::summary(&report, &pb, &zone)
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            )
        })
    }

    /// The customer rates and signs; the evidence joins this device's hash chain.
    pub fn sign_off(
        &self,
        assignment_id: String,
        sign_off: CustomerSignOff,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        self.run(&assignment_id, sign_off.into_command(), now, location)
    }

    /// The customer declined to sign; recorded as such, never faked.
    pub fn decline_signature(
        &self,
        assignment_id: String,
        reason: String,
        now: Timestamp,
        location: Option<Location>,
    ) -> Result<CommandResult, DoorstepError> {
        self.run(
            &assignment_id,
            VisitCommand::DeclineSignature { reason },
            now,
            location,
        )
    }

    /// How many recorded events wait for upload (the "not yet synced" badge).
    pub fn pending_upload_count(&self) -> Result<u64, DoorstepError> {
        guard(|| Ok(self.store()?.pending_count()?))
    }

    /// What waits for the server and how the last syncs went.
    pub fn sync_status(&self) -> Result<SyncStatus, DoorstepError> {
        guard(|| Ok(self.store()?.sync_status()?.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::VisitStage;
    use std::path::PathBuf;
    use std::time::{Duration as StdDuration, SystemTime};

    /// A fresh store path under the system temp dir, removed on drop.
    struct TempPath(PathBuf);

    impl TempPath {
        fn new(name: &str) -> Self {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let dir = std::env::temp_dir().join(format!(
                "doorstep-ffi-{name}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn file(&self) -> String {
            self.0.join("device.db").display().to_string()
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// 2026-11-25T08:00:00Z plus `minutes`.
    fn t(minutes: u64) -> Timestamp {
        (SystemTime::UNIX_EPOCH + StdDuration::from_secs(1_795_593_600 + minutes * 60)).into()
    }

    const ASSIGNMENT: &str = r#"{
        "id": "A-1001", "version": 1, "trade": "appliance_repair", "technician": "T-7",
        "customer": {"name": "Li Hua", "phone": "138-0013-8000",
            "address": "Room 1201, 88 Century Avenue, Pudong, Shanghai",
            "location": {"lat": 31.2304, "lon": 121.4737}, "time_zone": "Asia/Shanghai"},
        "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
        "fault_description": "Not cooling",
        "requested_window": {"start": "2026-11-25T10:00:00Z", "end": "2026-11-25T12:00:00Z"},
        "received_at": "2026-11-25T07:30:00Z"}"#;

    fn open(p: &TempPath) -> DeviceStore {
        DeviceStore::open(p.file(), "dev-1".into(), "T-7".into(), "Wang Wei".into()).unwrap()
    }

    #[test]
    fn an_assignment_is_received_listed_and_survives_reopening() {
        let p = TempPath::new("receive");
        let s = open(&p);
        assert_eq!(s.device().unwrap().technician_name, "Wang Wei");
        let screen = s.receive_assignment(ASSIGNMENT.into(), t(0)).unwrap();
        assert_eq!(screen.stage, VisitStage::Intake);
        assert!(!screen.appearance.is_empty());
        let today = s.todays_visits(t(0), 480).unwrap();
        assert_eq!(today.len(), 1);
        assert_eq!(today[0].assignment_id, "A-1001");
        assert_eq!(today[0].customer_name.as_deref(), Some("Li Hua"));
        assert!(s.todays_visits(t(24 * 60), 480).unwrap().is_empty());
        let r = s
            .apply_command(
                "A-1001".into(),
                r#"{"type": "log_call", "outcome": "reached"}"#.into(),
                t(10),
                None,
            )
            .unwrap();
        assert_eq!(r.events, vec!["call_logged".to_string()]);
        let pending = s.pending_upload_count().unwrap();
        assert!(pending >= 2);
        s.close_store();
        s.close_store();
        assert_eq!(s.pending_upload_count().unwrap_err().code(), "store_closed");

        let again = open(&p);
        assert_eq!(again.pending_upload_count().unwrap(), pending);
        assert_eq!(
            again.visit_screen("A-1001".into(), t(11)).unwrap().stage,
            VisitStage::Intake
        );
    }

    #[test]
    fn refusals_write_nothing_and_keep_their_rule() {
        let p = TempPath::new("refuse");
        let s = open(&p);
        s.receive_assignment(ASSIGNMENT.into(), t(0)).unwrap();
        let before = s.pending_upload_count().unwrap();
        let e = s
            .apply_command(
                "A-1001".into(),
                r#"{"type": "accept_quote", "revision": 1}"#.into(),
                t(5),
                None,
            )
            .unwrap_err();
        assert!(matches!(e, DoorstepError::Refused { .. }), "{e:?}");
        let so = CustomerSignOff {
            quality: 5,
            attitude: 5,
            comment: None,
            strokes: vec![],
            consent_text: "ok".into(),
            shown_digest: None,
        };
        assert!(matches!(
            s.sign_off("A-1001".into(), so.clone(), t(6), None)
                .unwrap_err(),
            DoorstepError::Refused { .. }
        ));
        assert!(matches!(
            s.decline_signature("A-1001".into(), "busy".into(), t(6), None)
                .unwrap_err(),
            DoorstepError::Refused { .. }
        ));
        assert_eq!(s.pending_upload_count().unwrap(), before);
        let d = s.preview_sign_off("A-1001".into(), so).unwrap();
        assert_eq!(&d.full[..8], d.short);
    }

    /// A company's version of the trade's playbook reaches the screens: a
    /// visit started under it shows its checklists, one started before
    /// keeps the shipped one.
    #[test]
    fn the_screens_follow_the_playbook_version_the_visit_walks() {
        use doorstep_core::playbook::PlaybookSigningKey;
        let p = TempPath::new("company-playbook");
        let s = open(&p);
        s.receive_assignment(ASSIGNMENT.into(), t(0)).unwrap();
        let key = PlaybookSigningKey::generate();
        s.trust_playbook_key(key.public_key_hex()).unwrap();
        let mut pb = doorstep_core::Playbook::shipped_by_id("appliance_repair").unwrap();
        pb.version = 2;
        pb.appearance[0].name.zh = "公司工装（第 2 版）".into();
        let refused = s
            .store()
            .unwrap()
            .keep_published_playbooks(&[key.sign(&pb)], None, chrono::Utc::now())
            .unwrap();
        assert!(refused.is_empty(), "{refused:?}");
        let later = ASSIGNMENT.replace("A-1001", "A-1002");
        let company = s.receive_assignment(later, t(1)).unwrap();
        let shipped = s.visit_screen("A-1001".into(), t(2)).unwrap();
        assert_eq!(company.appearance[0].name.zh, "公司工装（第 2 版）");
        assert_ne!(shipped.appearance[0].name.zh, "公司工装（第 2 版）");
    }

    fn typed(name: &str, text: &str) -> FormValue {
        FormValue {
            name: name.into(),
            value: crate::forms::FieldValue::Text { text: text.into() },
        }
    }

    #[test]
    fn actions_are_submitted_as_forms_and_bad_fields_are_named() {
        let p = TempPath::new("forms");
        let s = open(&p);
        s.receive_assignment(ASSIGNMENT.into(), t(0)).unwrap();
        let forms = s.action_forms("A-1001".into()).unwrap();
        let call = forms.iter().find(|f| f.action == "log_call").unwrap();
        assert_eq!(call.label.zh, "记录通话");
        let outcome = call.fields.iter().find(|f| f.name == "outcome").unwrap();
        assert_eq!(outcome.kind, crate::forms::FieldKind::Choice);
        assert!(outcome.options.iter().any(|o| o.label.zh == "已接通"));
        let before = s.pending_upload_count().unwrap();
        let e = s
            .submit_action(
                "A-1001".into(),
                "log_call".into(),
                vec![typed("outcome", "maybe")],
                t(5),
                None,
            )
            .unwrap_err();
        assert_eq!(e.code(), "invalid_form");
        match &e {
            DoorstepError::InvalidForm { problems, .. } => {
                assert_eq!(problems[0].field, "outcome");
                assert!(problems[0].zh.contains("通话结果"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.pending_upload_count().unwrap(), before);
        let r = s
            .submit_action(
                "A-1001".into(),
                "log_call".into(),
                vec![typed("outcome", "reached")],
                t(6),
                None,
            )
            .unwrap();
        assert_eq!(r.events, vec!["call_logged".to_string()]);
        let r = s
            .submit_action(
                "A-1001".into(),
                "confirm_appointment".into(),
                vec![
                    typed("address_confirmed", "yes"),
                    typed("product_confirmed", "是"),
                ],
                t(7),
                None,
            )
            .unwrap();
        assert_eq!(r.screen.stage, VisitStage::Scheduled);
        let card = r.screen.customer.unwrap();
        assert_eq!(card.name.as_deref(), Some("Li Hua"));
        assert_eq!(card.phone.as_deref(), Some("138-0013-8000"));
        let kit = s.action_forms("A-1001".into()).unwrap();
        let check = kit.iter().find(|f| f.action == "check_kit_item").unwrap();
        assert!(check.fields[0].default.is_some(), "the next open kit item");
    }

    #[test]
    fn bad_input_is_refused_before_the_store() {
        let p = TempPath::new("input");
        let s = open(&p);
        let e = s.receive_assignment("{}".into(), t(0)).unwrap_err();
        assert_eq!(e.code(), "invalid_assignment");
        let e = s.visit_screen("bad id".into(), t(0)).unwrap_err();
        assert_eq!(e.code(), "invalid_id");
        let e = s.visit_screen("A-404".into(), t(0)).unwrap_err();
        assert_eq!(e.code(), "store_unknown_assignment");
        assert!(e.text(doorstep_core::Lang::ZhCn).contains("本地没有"));
        let e = s
            .apply_command("A-404".into(), "[]".into(), t(0), None)
            .unwrap_err();
        assert_eq!(e.code(), "invalid_command");
        let e = s.todays_visits(t(0), 24 * 60).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
    }

    #[test]
    fn a_store_of_another_device_or_a_foreign_file_is_refused() {
        let p = TempPath::new("foreign");
        open(&p).close_store();
        let e = DeviceStore::open(p.file(), "dev-2".into(), "T-7".into(), "x".into())
            .err()
            .unwrap();
        assert_eq!(e.code(), "store_device_mismatch");
        let junk = p.0.join("junk.db");
        std::fs::write(&junk, vec![0x42u8; 4096]).unwrap();
        let e = DeviceStore::open(
            junk.display().to_string(),
            "dev-1".into(),
            "T-7".into(),
            "x".into(),
        )
        .err()
        .unwrap();
        assert_eq!(e.code(), "store_not_a_database");
        assert!(matches!(e, DoorstepError::Store { .. }));
        let e = DeviceStore::open(p.file(), "bad id".into(), "T-7".into(), "x".into())
            .err()
            .unwrap();
        assert_eq!(e.code(), "invalid_id");
    }
}
