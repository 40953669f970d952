//! The phone's durable local store: the `Store` API the shells and the sync
//! client use.
//!
//! It owns the visit event log (append-only), the visit projection (current
//! state per visit, always equal to a replay of its events), the outbox (the
//! events waiting for the server, with a per-device increasing sequence),
//! the version of each order last received (the order itself is kept once,
//! in the fact that brought it: `projection.rs`), the sync cursor and the
//! device identity (device id, technician, last HLC stamp, head of the
//! sign-off evidence chain).
//!
//! There is one write path: [`Store::apply_command`] (and
//! [`Store::receive_assignment`], which goes through it) loads the visit's
//! state and playbook, runs the pure workflow, and in **one transaction**
//! appends the events, updates the projection, enqueues the outbox, persists
//! the HLC and, after a sign-off, the new evidence chain head. A crash at
//! any point leaves either all of it or none of it.
//!
//! Files: `db.rs` (connections, transactions, durability), `schema.rs`
//! (migrations), `error.rs` (`StoreError`), `projection.rs` (a visit's
//! projection row, written without its order), `retention.rs` (purging
//! personal data after sync), `erasure.rs` (the center's erasure on request, from the
//! download), `settings.rs` (what the server sends every phone: the
//! business time zone, which every command's context and the day's list
//! use), `outbox_text.rs` (the waiting facts as the sync sends them: their
//! stored text, rewritten first only when an older app version stored it),
//! `visit_writes.rs` (a command's rows worked out, then written: at once,
//! or a download page's together with their JSON made on a second thread),
//! `statement_work.rs` (SQLite's steps for each statement run, counted on
//! request: a read's work must not grow with the stored history).

mod blobs;
mod db;
mod erasure;
mod error;
mod outbox_text;
mod playbooks;
mod projection;
mod retention;
pub mod schema;
mod settings;
pub mod statement_work;
mod sync_state;
mod visit_writes;

pub use blobs::{CapturedPhoto, StoredBlob, DEFAULT_BLOB_LIMIT_BYTES};
pub use db::Durability;
pub use error::StoreError;
pub use playbooks::RefusedPlaybook;
pub use retention::PurgeReport;
pub use sync_state::{Refusal, SyncStatus};

pub(crate) use projection::{load_visit, save_visit, VisitRow};
use visit_writes::{PageWrites, VisitWrite};

use crate::assignment::{Assignment, TimeWindow};
use crate::business_time::BusinessZone;
use crate::clock::{Hlc, HlcStamp};
use crate::ids::{AssignmentId, DeviceId, EventId, TechnicianId, VisitId};
use crate::location::GeoFix;
use crate::playbook::Playbook;
use crate::protocol::{AssignmentChange, ChangeKind, PageReceipt};
use crate::receipt::{PageBase, PageStamper, ReceiptIds};
use crate::workflow::view::{view_in, VisitView};
use crate::workflow::{
    execute, Context, EventKind, LiveStamper, Outcome, Stage, VisitCommand, VisitEvent, VisitState,
};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use db::Db;
use error::Result;
use rusqlite::{params, OptionalExtension, Transaction};
use std::path::Path;

/// Who this phone is, given when the store is first created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub device_id: DeviceId,
    pub technician_id: TechnicianId,
    /// Shown in the scripts ("This is {technician} from ...").
    pub technician_name: String,
}

/// The device row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device_id: DeviceId,
    pub technician_id: TechnicianId,
    pub technician_name: String,
    /// The last HLC stamp issued on this device.
    pub hlc: HlcStamp,
    /// Digest of the last sign-off evidence record (the chain head).
    pub evidence_head: Option<String>,
}

/// Which visit a command is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitRef {
    Visit(VisitId),
    Assignment(AssignmentId),
}

impl From<VisitId> for VisitRef {
    fn from(id: VisitId) -> Self {
        Self::Visit(id)
    }
}
impl From<AssignmentId> for VisitRef {
    fn from(id: AssignmentId) -> Self {
        Self::Assignment(id)
    }
}
impl From<&AssignmentId> for VisitRef {
    fn from(id: &AssignmentId) -> Self {
        Self::Assignment(id.clone())
    }
}

/// One line of the day's list.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitSummary {
    pub visit_id: VisitId,
    pub assignment_id: AssignmentId,
    pub trade: String,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub window: Option<TimeWindow>,
    pub closed: bool,
    pub conflict: bool,
    pub customer_name: Option<String>,
    pub address: Option<String>,
}

/// An event waiting for the server, with its upload sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub event: VisitEvent,
}

/// An event the server refused permanently, kept with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedEntry {
    pub seq: i64,
    pub event_id: EventId,
    pub visit_id: VisitId,
    pub reason: String,
}

/// What `rebuild` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RebuildReport {
    pub visits: usize,
    /// Projections that differed from the replay of their events (and were rewritten).
    pub changed: usize,
}

/// The phone's local database. `Send + Sync` and cheap to clone (clones
/// share one database): the UI and the sync client hold the same store,
/// and the sync applies a downloaded page on a thread of its own
/// (`crate::sync`) while the next page arrives.
#[derive(Clone)]
pub struct Store {
    shared: std::sync::Arc<Shared>,
}

/// What every clone of a [`Store`] shares.
struct Shared {
    db: Db,
    blobs: blobs::BlobArea,
    device_id: DeviceId,
    technician_id: TechnicianId,
    technician_name: String,
    /// Signs each sign-off's evidence (the shell's keystore key, or a
    /// software key for the CLI and tests); none on a phone enrolled
    /// without one (its sign-offs are "unsigned").
    device_key: std::sync::RwLock<Option<std::sync::Arc<dyn crate::device_key::DeviceKey>>>,
    /// Checks the center's offline discount codes (the shell's keystore
    /// secret, or a software key); none on a phone enrolled without a
    /// discount secret (online approvals only).
    discount_key: std::sync::RwLock<Option<crate::discount_approval::SharedDiscountKey>>,
    /// The published playbook versions parsed so far (`playbooks`).
    playbooks: std::sync::RwLock<crate::playbook::PlaybookCatalog>,
}

/// Commands whose facts the customer saw happen (sign-off, payment, a
/// declined signature, the acceptance code): committed with `synchronous=FULL`.
pub fn durability_of(command: &VisitCommand) -> Durability {
    match command {
        VisitCommand::SignOff { .. }
        | VisitCommand::DeclineSignature { .. }
        | VisitCommand::EnterAcceptanceCode { .. }
        | VisitCommand::WithholdAcceptanceCode { .. }
        | VisitCommand::CollectPayment { .. }
        | VisitCommand::RefusePayment { .. }
        | VisitCommand::DeferPayment { .. } => Durability::Full,
        _ => Durability::Normal,
    }
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn to_json<T: serde::Serialize>(what: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::encode(what, e))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::decode(what, e))
}

fn parse_id<T: std::str::FromStr>(what: &'static str, s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::StoredDataInvalid {
        what,
        category: "invalid id",
        line: 0,
        column: 0,
    })
}

// ---- rows -------------------------------------------------------------------

/// What every change of a downloaded page shares: the base its facts are
/// stamped from (`crate::receipt`) and the business time zone, read once
/// for the page rather than once a change.
struct PageApply {
    base: PageBase,
    zone: BusinessZone,
}

pub(crate) fn load_events(tx: &Transaction<'_>, visit_id: VisitId) -> Result<Vec<VisitEvent>> {
    let mut stmt =
        tx.prepare_cached("SELECT json FROM visit_events WHERE visit_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([visit_id.to_string()], |r| r.get::<_, String>(0))?;
    let mut out = vec![];
    for json in rows {
        out.push(from_json("visit event", &json?)?);
    }
    Ok(out)
}

fn load_device(tx: &Transaction<'_>) -> Result<Option<DeviceIdentity>> {
    let row: Option<(String, String, String, i64, i64, Option<String>)> = tx
        .prepare_cached(
            "SELECT device_id, technician_id, technician_name, hlc_millis, hlc_counter, evidence_head
             FROM device WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    row.map(|(d, t, name, millis, counter, head)| {
        Ok(DeviceIdentity {
            device_id: parse_id("device id", &d)?,
            technician_id: parse_id("technician id", &t)?,
            technician_name: name,
            hlc: HlcStamp {
                millis,
                counter: u32::try_from(counter).unwrap_or(u32::MAX),
            },
            evidence_head: head,
        })
    })
    .transpose()
}

/// The device row's mutable part while one write transaction runs: read
/// once at its start, advanced in memory by every command applied in it
/// (a download page applies hundreds), written back once before commit.
/// The stamps and the chain head are exactly those that reading and
/// writing the row around each command would give.
struct DeviceClock {
    hlc: Hlc,
    evidence_head: Option<String>,
    /// Whether a command produced events since the row was read.
    changed: bool,
}

impl DeviceClock {
    fn load(tx: &Transaction<'_>) -> Result<DeviceClock> {
        let device = load_device(tx)?.ok_or(StoreError::Sqlite("device row missing".into()))?;
        Ok(DeviceClock {
            hlc: Hlc::resume(device.hlc),
            evidence_head: device.evidence_head,
            changed: false,
        })
    }

    /// Writes the last stamp and the chain head back, if anything changed.
    fn save(&self, tx: &Transaction<'_>) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        let last = self.hlc.last();
        tx.prepare_cached(
            "UPDATE device SET hlc_millis = ?1, hlc_counter = ?2, evidence_head = ?3 WHERE id = 1",
        )?
        .execute(params![last.millis, last.counter, self.evidence_head])?;
        Ok(())
    }
}

/// Records which version of an order the phone last received (the order
/// itself is kept once, in the visit's "assignment received" fact:
/// `projection`).
fn save_assignment(tx: &Transaction<'_>, a: &Assignment, now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO assignments (assignment_id, version, trade, received_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(assignment_id) DO UPDATE SET
           version = excluded.version, trade = excluded.trade, received_at = excluded.received_at
         WHERE excluded.version >= assignments.version",
    )?
    .execute(params![
        a.id.as_str(),
        a.version as i64,
        a.trade.as_str(),
        millis(now),
    ])?;
    Ok(())
}

impl Store {
    /// Opens the store at `path`, creating it (and enrolling this device) if
    /// the file does not exist. An existing store must belong to the same
    /// device. Never repairs or recreates an existing file (see `StoreError`).
    pub fn open(path: impl AsRef<Path>, enrollment: &Enrollment) -> Result<Store> {
        let db = Db::open(path.as_ref())?;
        let device = match db.read(load_device)? {
            Some(d) => d,
            None => db.write(Durability::Full, |tx| {
                tx.execute(
                    "INSERT INTO device (id, device_id, technician_id, technician_name, enrolled_at)
                     VALUES (1, ?1, ?2, ?3, ?4)",
                    params![
                        enrollment.device_id.as_str(),
                        enrollment.technician_id.as_str(),
                        enrollment.technician_name,
                        millis(Utc::now()),
                    ],
                )?;
                load_device(tx)?.ok_or(StoreError::Sqlite("device row missing".into()))
            })?,
        };
        if device.device_id != enrollment.device_id {
            return Err(StoreError::DeviceMismatch {
                stored: device.device_id.to_string(),
                given: enrollment.device_id.to_string(),
            });
        }
        let blobs = blobs::BlobArea::open(path.as_ref())?;
        let store = Store {
            shared: std::sync::Arc::new(Shared {
                db,
                blobs,
                device_id: device.device_id,
                technician_id: device.technician_id,
                technician_name: device.technician_name,
                device_key: std::sync::RwLock::new(None),
                discount_key: std::sync::RwLock::new(None),
                playbooks: std::sync::RwLock::default(),
            }),
        };
        store.purge_orphan_blobs(blobs::ORPHAN_AGE)?;
        outbox_text::settle_event_text_format(&store.shared.db)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        self.shared.db.path()
    }

    pub fn device_id(&self) -> &DeviceId {
        &self.shared.device_id
    }

    /// The key that signs every sign-off's evidence from now on
    /// (`crate::device_key`): the shell's keystore key or a software key.
    pub fn set_device_key(&self, key: std::sync::Arc<dyn crate::device_key::DeviceKey>) {
        let mut slot = match self.shared.device_key.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(key);
    }

    /// The key the center's offline discount codes are checked with from
    /// now on (`crate::discount_approval`): the secret issued at enrolment,
    /// in the shell's keystore or a software key.
    pub fn set_discount_key(
        &self,
        key: std::sync::Arc<dyn crate::discount_approval::DiscountCodeKey>,
    ) {
        let mut slot = match self.shared.discount_key.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(crate::discount_approval::SharedDiscountKey(key));
    }

    fn discount_key(&self) -> Option<crate::discount_approval::SharedDiscountKey> {
        match self.shared.discount_key.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The device row: identity, last HLC stamp, evidence chain head.
    pub fn device(&self) -> Result<DeviceIdentity> {
        self.shared
            .db
            .read(|tx| load_device(tx)?.ok_or(StoreError::Sqlite("device row missing".into())))
    }

    /// Counts SQLite's work for every statement the store runs from now on
    /// (virtual-machine steps per run, by SQL text), for the tests and
    /// diagnostics that check a read of today's work does not grow with the
    /// history the phone holds.
    pub fn count_statement_work(&self) -> Result<std::sync::Arc<statement_work::StatementWork>> {
        let work = std::sync::Arc::new(statement_work::StatementWork::default());
        self.shared.db.count_statement_work(work.clone())?;
        Ok(work)
    }

    /// Copies the WAL into the database file and empties it, and frees the
    /// writer's cached pages (e.g. when the app goes to the background).
    /// Checkpoints otherwise run on a background thread every 500 writes.
    pub fn checkpoint(&self) -> Result<()> {
        self.shared.db.checkpoint()
    }

    /// Stops the query running on another thread (it fails; its transaction rolls back).
    pub fn interrupt(&self) {
        self.shared.db.interrupt();
    }

    // ---- the write path --------------------------------------------------

    /// Applies a technician's command to a visit: decides it with the
    /// workflow and, in one transaction, appends the events, updates the
    /// projection, enqueues the outbox and persists the HLC (and the
    /// evidence chain head after a sign-off). Customer-facing facts commit
    /// with `synchronous=FULL` ([`durability_of`]). Returns the new events
    /// (none when the command changes nothing); on error nothing is written.
    pub fn apply_command(
        &self,
        target: impl Into<VisitRef>,
        command: &VisitCommand,
        now: DateTime<Utc>,
        location: Option<GeoFix>,
    ) -> Result<Vec<VisitEvent>> {
        self.apply_command_with(target, command, now, location, Durability::Normal)
    }

    /// [`Store::apply_command`] with at least the given durability (a shell
    /// may ask for `Full` on any command it wants to survive power loss;
    /// customer-facing facts get `Full` whatever is asked).
    pub fn apply_command_with(
        &self,
        target: impl Into<VisitRef>,
        command: &VisitCommand,
        now: DateTime<Utc>,
        location: Option<GeoFix>,
        at_least: Durability,
    ) -> Result<Vec<VisitEvent>> {
        let target = target.into();
        self.shared
            .db
            .write(durability_of(command).max(at_least), |tx| {
                let row = load_visit(tx, &target)?.ok_or_else(|| match &target {
                    VisitRef::Visit(id) => StoreError::UnknownVisit(*id),
                    VisitRef::Assignment(id) => StoreError::UnknownAssignment(id.clone()),
                })?;
                let mut clock = DeviceClock::load(tx)?;
                let events = match self.decide_in(
                    tx,
                    &mut clock,
                    Some(row),
                    command,
                    now,
                    location,
                    None,
                )? {
                    Some(write) => write.write(tx)?,
                    None => vec![],
                };
                clock.save(tx)?;
                Ok(events)
            })
    }

    /// Records a change from the center: a new assignment creates its visit
    /// (through the workflow's `receive_assignment`), a changed one updates
    /// it, a cancel or reassign is applied to the visit (a conflict if the
    /// technician already set off). A re-delivered or older version changes
    /// nothing. An order that opens no visit here (another technician's)
    /// is kept in `assignments` as last received.
    pub fn receive_assignment(
        &self,
        change: &ChangeKind,
        now: DateTime<Utc>,
    ) -> Result<Vec<VisitEvent>> {
        self.shared.db.write(Durability::Normal, |tx| {
            let mut clock = DeviceClock::load(tx)?;
            let events = match self.receive_in(tx, &mut clock, change, now, None)?.0 {
                Some(write) => write.write(tx)?,
                None => vec![],
            };
            clock.save(tx)?;
            Ok(events)
        })
    }

    /// Applies one downloaded page of assignment changes and the new sync
    /// cursor in one transaction. The device row is read once for the page
    /// and written once at its end (the HLC advances in memory from change
    /// to change: the same stamps as one transaction per change would give).
    ///
    /// The page's facts are stamped from one HLC tick in change order and
    /// their ids drawn as `ids` says, the scheme the server's answer named
    /// (`crate::receipt`); its receipts ("assignment received") go to the
    /// event log but not the outbox, and the page's acknowledgement
    /// ([`PageReceipt`], naming them) waits in `download_acks` for the next
    /// request ([`Store::pending_download_acks`]). Other facts (a cancel, a
    /// conflict) are uploaded as usual.
    pub fn apply_download_page(
        &self,
        changes: &[AssignmentChange],
        cursor: &str,
        now: DateTime<Utc>,
        ids: ReceiptIds,
    ) -> Result<Vec<VisitEvent>> {
        self.shared.db.write(Durability::Normal, |tx| {
            let mut clock = DeviceClock::load(tx)?;
            let after = load_cursor(tx, "assignments")?
                .and_then(|c| c.parse::<u64>().ok())
                .unwrap_or(0);
            let mut ticked = clock.hlc;
            let base = PageApply {
                base: PageBase {
                    after,
                    applied_at: now,
                    hlc: ticked.tick(now),
                    ids,
                },
                zone: settings::load_business_zone(tx)?,
            };
            let mut writes = PageWrites::default();
            let mut receipts: Vec<[u64; 2]> = vec![];
            let mut playbooks = std::collections::BTreeMap::new();
            for c in changes {
                if writes.must_write_before(c.change.assignment_id()) {
                    writes.write(tx)?;
                }
                let page = Some((&base, c.seq));
                let (made, started) = self.receive_in(tx, &mut clock, &c.change, now, page)?;
                let Some(made) = made else { continue };
                let received = made.events().iter().find_map(|e| e.kind.playbook_walked());
                if let Some((trade, version)) = received {
                    match receipts.last_mut() {
                        Some(range) if range[1] + 1 == c.seq => range[1] = c.seq,
                        _ => receipts.push([c.seq, c.seq]),
                    }
                    // A new visit's version (an update keeps its visit's).
                    if let (Some(v), true) = (version, started) {
                        playbooks.insert(trade.to_string(), v);
                    }
                }
                writes.hold(made);
            }
            writes.write(tx)?;
            let events = writes.into_events();
            clock.save(tx)?;
            set_cursor(tx, "assignments", cursor, now)?;
            if !receipts.is_empty() {
                let ack = PageReceipt {
                    after,
                    cursor: cursor.parse().unwrap_or(after),
                    applied_at: now,
                    hlc: base.base.hlc,
                    receipts,
                    playbooks,
                    ids,
                };
                tx.prepare_cached("INSERT INTO download_acks (ack_json) VALUES (?1)")?
                    .execute([to_json("page acknowledgement", &ack)?])?;
            }
            Ok(events)
        })
    }

    /// The acknowledgements of applied pages the server has not had yet,
    /// oldest first, each with its row id (for
    /// [`Store::clear_download_acks`]).
    pub fn pending_download_acks(&self) -> Result<Vec<(i64, PageReceipt)>> {
        self.shared.db.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT page, ack_json FROM download_acks ORDER BY page")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            let mut out = vec![];
            for row in rows {
                let (page, json) = row?;
                out.push((page, from_json("page acknowledgement", &json)?));
            }
            Ok(out)
        })
    }

    /// The server answered a request carrying the acknowledgements up to
    /// row `up_to_page`: they are delivered.
    pub fn clear_download_acks(&self, up_to_page: i64) -> Result<usize> {
        self.shared.db.write(Durability::Normal, |tx| {
            Ok(tx
                .prepare_cached("DELETE FROM download_acks WHERE page <= ?1")?
                .execute([up_to_page])?)
        })
    }

    fn receive_in(
        &self,
        tx: &Transaction<'_>,
        clock: &mut DeviceClock,
        change: &ChangeKind,
        now: DateTime<Utc>,
        page: Option<(&PageApply, u64)>,
    ) -> Result<(Option<VisitWrite>, bool)> {
        let id = change.assignment_id();
        let Some(command) = change.to_command() else {
            // An erasure (PIPL) rewrites what is stored; no visit fact.
            erasure::erase_customer(tx, id)?;
            return Ok((None, false));
        };
        // An order with a visit is recorded by it (the fact that brought
        // it, the row's `order_version`); the `assignments` table keeps the
        // orders sent without one (another technician's), as last sent.
        if !matches!(change, ChangeKind::Assignment { .. }) {
            tx.prepare_cached(
                "UPDATE assignments SET version = max(version, ?2) WHERE assignment_id = ?1",
            )?
            .execute(params![id.as_str(), change.version() as i64])?;
        }
        let row = load_visit(tx, &VisitRef::Assignment(id.clone()))?;
        match (&row, change) {
            (None, ChangeKind::Assignment { assignment: a }) => {
                let ours = a
                    .technician
                    .as_ref()
                    .is_none_or(|t| *t == self.shared.technician_id);
                if !ours {
                    // Someone else's work: kept, no visit.
                    save_assignment(tx, a, now)?;
                    return Ok((None, false));
                }
            }
            (None, _) => return Ok((None, false)), // never had it: nothing to cancel
            (Some(r), ChangeKind::Assignment { assignment: a }) => {
                let have = r.state.assignment_version();
                if a.version <= have {
                    return Ok((None, false)); // re-delivered or stale
                }
            }
            _ => {}
        }
        let page = page.map(|(base, seq)| (base, seq, id));
        let started = row.is_none();
        let write = self.decide_in(tx, clock, row, &command, now, None, page)?;
        Ok((write, started))
    }

    /// The write path proper, inside the caller's transaction: the visit's
    /// rows after `command`, for the caller to write (none when it records
    /// nothing); the device row's HLC and chain head advance in `clock`
    /// (the caller saves it). `page`: the command records the change at
    /// this seq of a downloaded page: stamped from the page's base, its
    /// receipt kept off the outbox.
    #[allow(clippy::too_many_arguments)]
    fn decide_in(
        &self,
        tx: &Transaction<'_>,
        clock: &mut DeviceClock,
        row: Option<VisitRow>,
        command: &VisitCommand,
        now: DateTime<Utc>,
        location: Option<GeoFix>,
        page: Option<(&PageApply, u64, &AssignmentId)>,
    ) -> Result<Option<VisitWrite>> {
        let new_visit = row.is_none();
        let (mut state, trade) = match row {
            Some(r) => (r.state, r.trade),
            None => match command {
                VisitCommand::ReceiveAssignment { assignment } => {
                    (VisitState::default(), assignment.trade.as_str().to_string())
                }
                _ => return Err(crate::WorkflowError::VisitNotStarted.into()),
            },
        };
        let pb = self.visit_playbook(tx, &trade, state.playbook_version, new_visit)?;
        let pb: &Playbook = &pb;
        let ctx = Context {
            now,
            device_id: self.shared.device_id.clone(),
            location,
            previous_evidence_digest: clock.evidence_head.clone(),
            zone: match page {
                Some((p, ..)) => p.zone.clone(),
                None => settings::load_business_zone(tx)?,
            },
            discount_key: self.discount_key(),
            recorded_consent_digest: None,
        };
        let (mut events, hlc) = match page {
            None => {
                let mut stamper = LiveStamper { hlc: clock.hlc };
                let events = execute(&state, command, pb, &ctx, &mut stamper)?;
                (events, stamper.hlc)
            }
            Some((p, seq, assignment)) => {
                let mut stamper =
                    PageStamper::new(&p.base, &self.shared.device_id, assignment, seq);
                let events = execute(&state, command, pb, &ctx, &mut stamper)?;
                let last = stamper.last.map_or(clock.hlc, Hlc::resume);
                (events, last)
            }
        };
        self.sign_evidence(&mut events);
        if events.is_empty() {
            return Ok(None);
        }
        let mut evidence_head = clock.evidence_head.clone();
        for e in &events {
            state.apply(e);
            if let EventKind::CustomerSignedOff { evidence, .. } = &e.kind {
                evidence_head = Some(evidence.digest());
            }
        }
        let visit_id = events[0].visit_id;
        let write = VisitWrite::new(visit_id, state, events, page.is_some())?;
        clock.hlc = hlc;
        clock.evidence_head = evidence_head;
        clock.changed = true;
        Ok(Some(write))
    }

    /// Signs each sign-off's evidence with the device key, if there is one.
    /// A key that fails (a locked keystore) leaves the evidence unsigned
    /// rather than refusing the customer's signature: the server flags it.
    fn sign_evidence(&self, events: &mut [VisitEvent]) {
        let key = match self.shared.device_key.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let Some(key) = key else { return };
        for e in events {
            if let EventKind::CustomerSignedOff { evidence, .. } = &mut e.kind {
                if let Err(err) = crate::device_key::sign_evidence(key.as_ref(), evidence) {
                    log::warn!(target: "doorstep::store", "sign-off left unsigned: {err}");
                }
            }
        }
    }

    // ---- reads -----------------------------------------------------------

    /// The visits whose window starts on `date` in the given UTC offset (the
    /// technician's day), sorted by window start.
    pub fn visits_on(&self, date: NaiveDate, offset: FixedOffset) -> Result<Vec<VisitSummary>> {
        let start = date
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(offset).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or(StoreError::Sqlite("date out of range".into()))?;
        let end = start + chrono::Duration::days(1);
        self.visits_between(start, end)
    }

    /// The visits whose window starts in `[start, end)`, by window start.
    fn visits_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<VisitSummary>> {
        self.shared.db.read(|tx| {
            let mut out = vec![];
            for (visit_id, s) in projection::visits_in_window(tx, millis(start), millis(end))? {
                let Some(a) = s.assignment.as_ref() else {
                    continue;
                };
                out.push(VisitSummary {
                    visit_id,
                    assignment_id: a.id.clone(),
                    trade: a.trade.as_str().to_string(),
                    stage: s.stage,
                    outcome: s.outcome,
                    window: s.window,
                    closed: s.stage == Stage::Closed,
                    conflict: s.conflict.is_some(),
                    customer_name: a.customer.name.clone(),
                    address: a.customer.address.clone(),
                });
            }
            Ok(out)
        })
    }

    /// The visit's current state (its projection).
    pub fn state(&self, target: impl Into<VisitRef>) -> Result<VisitState> {
        let target = target.into();
        self.shared.db.read(|tx| {
            load_visit(tx, &target)?
                .map(|r| r.state)
                .ok_or_else(|| unknown(&target))
        })
    }

    /// The visit as a screen shows it: stage, next actions with prompts,
    /// checklist, quote, timers, report digest.
    pub fn view(&self, target: impl Into<VisitRef>, now: DateTime<Utc>) -> Result<VisitView> {
        let target = target.into();
        self.shared.db.read(|tx| {
            let row = load_visit(tx, &target)?.ok_or_else(|| unknown(&target))?;
            let pb = self.visit_playbook(tx, &row.trade, row.state.playbook_version, false)?;
            let zone = settings::load_business_zone(tx)?;
            Ok(view_in(
                &row.state,
                &pb,
                now,
                &self.shared.technician_name,
                &zone,
            ))
        })
    }

    /// Every event of the visit, in the order recorded.
    pub fn history(&self, target: impl Into<VisitRef>) -> Result<Vec<VisitEvent>> {
        let target = target.into();
        self.shared.db.read(|tx| {
            let row = load_visit(tx, &target)?.ok_or_else(|| unknown(&target))?;
            load_events(tx, row.visit_id)
        })
    }

    /// Whether an event is in the log.
    pub fn has_event(&self, id: EventId) -> Result<bool> {
        self.shared.db.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT 1 FROM visit_events WHERE event_id = ?1")?
                .exists([id.to_string()])?)
        })
    }

    /// Number of visits in the store.
    pub fn visit_count(&self) -> Result<u64> {
        self.shared.db.read(|tx| {
            Ok(tx.query_row("SELECT count(*) FROM visits", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    // ---- outbox ----------------------------------------------------------

    /// The oldest `limit` events waiting for the server, by sequence. (The
    /// sync client sends their stored text instead:
    /// [`Store::pending_outbox_texts_after`].)
    pub fn pending_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.shared.db.read(|tx| {
            let mut out = vec![];
            // Sequences start at 1.
            outbox_text::each_pending(tx, 0, limit, |seq, json| {
                out.push(OutboxEntry {
                    seq,
                    event: from_json("visit event", &json)?,
                });
                Ok(true)
            })?;
            Ok(out)
        })
    }

    /// Whether an event after `seq` waits for the server.
    #[cfg(feature = "sync")]
    pub(crate) fn has_pending_after(&self, seq: i64) -> Result<bool> {
        self.shared.db.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT 1 FROM outbox WHERE status = 'pending' AND seq > ?1 LIMIT 1",
                )?
                .query_row([seq], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    /// Number of events waiting for the server.
    pub fn pending_count(&self) -> Result<u64> {
        self.shared.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM outbox WHERE status = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// The server acknowledged every sequence up to `up_to_seq`: those
    /// events leave the pending queue. Returns how many did.
    pub fn ack_outbox(&self, up_to_seq: i64, now: DateTime<Utc>) -> Result<usize> {
        self.shared.db.write(Durability::Normal, |tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE outbox SET status = 'acked', acked_at = ?2
                     WHERE seq <= ?1 AND status = 'pending'",
                )?
                .execute(params![up_to_seq, millis(now)])?)
        })
    }

    /// The server refused the event at `seq` permanently: it leaves the
    /// pending queue and is kept with the reason, so one bad event never
    /// blocks the queue.
    pub fn record_refused(&self, seq: i64, reason: &str, now: DateTime<Utc>) -> Result<()> {
        self.shared.db.write(Durability::Normal, |tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE outbox SET status = 'refused', refused_reason = ?2, refused_at = ?3
                     WHERE seq = ?1 AND status != 'refused'",
                )?
                .execute(params![seq, reason, millis(now)])?;
            if n == 0
                && !tx
                    .prepare_cached("SELECT 1 FROM outbox WHERE seq = ?1")?
                    .exists([seq])?
            {
                return Err(StoreError::UnknownOutboxEntry(seq));
            }
            Ok(())
        })
    }

    /// Events the server refused, with the reasons.
    pub fn refused(&self) -> Result<Vec<RefusedEntry>> {
        self.shared.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, event_id, visit_id, coalesce(refused_reason, '') FROM outbox
                 WHERE status = 'refused' ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = vec![];
            for row in rows {
                let (seq, e, v, reason) = row?;
                out.push(RefusedEntry {
                    seq,
                    event_id: parse_id("event id", &e)?,
                    visit_id: parse_id("visit id", &v)?,
                    reason,
                });
            }
            Ok(out)
        })
    }

    // ---- sync cursor -----------------------------------------------------

    /// The download cursor of a stream (`"assignments"`), if any.
    pub fn sync_cursor(&self, stream: &str) -> Result<Option<String>> {
        self.shared.db.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT cursor FROM sync_cursor WHERE stream = ?1")?
                .query_row([stream], |r| r.get(0))
                .optional()?)
        })
    }

    pub fn set_sync_cursor(&self, stream: &str, cursor: &str, now: DateTime<Utc>) -> Result<()> {
        self.shared
            .db
            .write(Durability::Normal, |tx| set_cursor(tx, stream, cursor, now))
    }

    // ---- checks ------------------------------------------------------------

    /// Replays every visit's events and compares with its stored projection
    /// (the state and the listing columns); returns the visits that differ
    /// (empty when all is well). Writes nothing.
    pub fn verify_projections(&self) -> Result<Vec<VisitId>> {
        self.shared.db.read(|tx| {
            let mut bad = vec![];
            for v in projection::all_visits(tx)? {
                let replayed = VisitState::replay(&load_events(tx, v.visit_id)?);
                if replayed != v.state || !v.consistent {
                    bad.push(v.visit_id);
                }
            }
            Ok(bad)
        })
    }

    /// Re-derives every projection from its events and writes it back.
    pub fn rebuild(&self) -> Result<RebuildReport> {
        self.shared.db.write(Durability::Normal, |tx| {
            let mut report = RebuildReport::default();
            for v in projection::all_visits(tx)? {
                let mut replayed = VisitState::replay(&load_events(tx, v.visit_id)?);
                report.visits += 1;
                // A row from before schema v7 (the order copied in) is
                // written lean as well.
                if replayed != v.state || !v.consistent || !v.lean {
                    report.changed += 1;
                    save_visit(tx, v.visit_id, &mut replayed)?;
                }
            }
            Ok(report)
        })
    }

    /// `PRAGMA integrity_check`: `["ok"]` when the file is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.shared.db.read(|tx| {
            let mut stmt = tx.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Test and diagnostics hook: caps the database size in pages on the
    /// writer connection (`PRAGMA max_page_count`), to simulate a full disk.
    #[doc(hidden)]
    pub fn set_max_page_count(&self, pages: u64) -> Result<u64> {
        self.shared.db.with_writer(|c| {
            Ok(
                c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }
}

fn unknown(target: &VisitRef) -> StoreError {
    match target {
        VisitRef::Visit(id) => StoreError::UnknownVisit(*id),
        VisitRef::Assignment(id) => StoreError::UnknownAssignment(id.clone()),
    }
}

fn load_cursor(tx: &Transaction<'_>, stream: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT cursor FROM sync_cursor WHERE stream = ?1")?
        .query_row([stream], |r| r.get(0))
        .optional()?)
}

fn set_cursor(tx: &Transaction<'_>, stream: &str, cursor: &str, now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO sync_cursor (stream, cursor, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )?
    .execute(params![stream, cursor, millis(now)])?;
    Ok(())
}
