//! Download receipts: the envelope of the facts a phone records while it
//! applies a downloaded page of assignment changes, made from what the page's
//! acknowledgement carries, so the server derives the very same "assignment
//! received" fact instead of receiving it.
//!
//! The phone applies a page at one wall time `applied_at`, with its HLC
//! ticked once to a `base` stamp. Every fact a change of the page produces
//! gets (change seq `S`, page cursor `after`, the fact's index `k` within
//! the change):
//!
//! - HLC stamp `(base.millis, base.counter + 2·(S − after) + k)`: the
//!   page's facts stay in change order, after every earlier local stamp;
//!   a change produces at most [`FACTS_PER_CHANGE`] facts (cancel or
//!   reassign, then its conflict);
//! - event id: a UUIDv7 with `applied_at`'s milliseconds and random bits
//!   from SHA-256 of (device, `S`, `k`);
//! - a new visit's id: a UUIDv7 with `applied_at`'s milliseconds and random
//!   bits from SHA-256 of (device, assignment);
//! - `recorded_at = applied_at`, no location.
//!
//! The acknowledgement ([`crate::protocol::PageReceipt`]) carries `after`,
//! the page's cursor, `applied_at`, `base` and the ranges of change seqs
//! that became receipts: a few dozen bytes a page, however many
//! assignments it holds. The server reads those changes from its own log
//! and builds each receipt with [`receipt_event`], the phone with
//! [`PageStamper`] through the workflow: the same envelope and the same
//! fact, so both replays give the same visit.

use crate::assignment::{Assignment, FieldIssue};
use crate::clock::HlcStamp;
use crate::ids::{AssignmentId, DeviceId, EventId, VisitId};
use crate::workflow::{EventKind, Stamper, VisitEvent};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The most facts one downloaded change produces (a cancel after the
/// technician set off: the cancel and its conflict).
pub const FACTS_PER_CHANGE: u64 = 2;

/// Where a page's stamps come from: the cursor it was asked after, its
/// application time and the HLC stamp the phone ticked to for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageBase {
    pub after: u64,
    pub applied_at: DateTime<Utc>,
    pub hlc: HlcStamp,
}

impl PageBase {
    /// The stamp of fact `k` of the change at `seq`.
    pub fn stamp(&self, seq: u64, k: u32) -> HlcStamp {
        let slot = seq
            .saturating_sub(self.after)
            .saturating_mul(FACTS_PER_CHANGE)
            .saturating_add(u64::from(k));
        let counter = u64::from(self.hlc.counter).saturating_add(slot);
        HlcStamp {
            millis: self.hlc.millis,
            counter: u32::try_from(counter).unwrap_or(u32::MAX),
        }
    }

    /// The id of fact `k` of the change at `seq`, recorded by `device`.
    pub fn event_id(&self, device: &DeviceId, seq: u64, k: u32) -> EventId {
        let digest = Sha256::new()
            .chain_update(b"doorstep receipt event\0")
            .chain_update(device.as_str().as_bytes())
            .chain_update(b"\0")
            .chain_update(seq.to_be_bytes())
            .chain_update(k.to_be_bytes())
            .finalize();
        EventId(v7(self.applied_at, &digest))
    }

    /// The id of the visit a page's change opens on `device`.
    pub fn visit_id(&self, device: &DeviceId, assignment: &AssignmentId) -> VisitId {
        let digest = Sha256::new()
            .chain_update(b"doorstep receipt visit\0")
            .chain_update(device.as_str().as_bytes())
            .chain_update(b"\0")
            .chain_update(assignment.as_str().as_bytes())
            .finalize();
        VisitId(v7(self.applied_at, &digest))
    }
}

/// A UUIDv7 at `at` whose random bits come from `digest`.
fn v7(at: DateTime<Utc>, digest: &[u8]) -> uuid::Uuid {
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid()
}

/// The phone's stamper for one change of a page (see the module docs):
/// ids and stamps in the order `execute` asks for them (a visit id, then
/// per fact its id and its stamp).
#[derive(Debug, Clone)]
pub struct PageStamper<'a> {
    pub base: &'a PageBase,
    pub device: &'a DeviceId,
    pub assignment: &'a AssignmentId,
    pub seq: u64,
    /// The index of the fact being stamped.
    next: u32,
    /// The last stamp given, if any.
    pub last: Option<HlcStamp>,
}

impl<'a> PageStamper<'a> {
    pub fn new(
        base: &'a PageBase,
        device: &'a DeviceId,
        assignment: &'a AssignmentId,
        seq: u64,
    ) -> Self {
        Self {
            base,
            device,
            assignment,
            seq,
            next: 0,
            last: None,
        }
    }
}

impl Stamper for PageStamper<'_> {
    fn visit_id(&mut self) -> VisitId {
        self.base.visit_id(self.device, self.assignment)
    }
    fn event_id(&mut self) -> EventId {
        self.base.event_id(self.device, self.seq, self.next)
    }
    fn hlc(&mut self, _now: DateTime<Utc>) -> HlcStamp {
        let stamp = self.base.stamp(self.seq, self.next);
        self.next += 1;
        self.last = Some(stamp);
        stamp
    }
}

/// The "assignment received" fact the phone recorded for the change at
/// `seq` of the page `base`, as the server derives it: `visit_id` is the
/// phone's visit of the assignment if the server knows one, else
/// [`PageBase::visit_id`]; `field_issues` the trade's required-field check.
pub fn receipt_event(
    base: &PageBase,
    device: &DeviceId,
    seq: u64,
    visit_id: VisitId,
    assignment: Assignment,
    field_issues: Vec<FieldIssue>,
    playbook_version: Option<i64>,
) -> VisitEvent {
    VisitEvent {
        id: base.event_id(device, seq, 0),
        visit_id,
        assignment_id: assignment.id.clone(),
        device_id: device.clone(),
        hlc: base.stamp(seq, 0),
        recorded_at: base.applied_at,
        location: None,
        assignment_version: assignment.version,
        kind: EventKind::AssignmentReceived {
            assignment: Box::new(assignment),
            field_issues,
            playbook_version,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn base() -> PageBase {
        PageBase {
            after: 10,
            applied_at: Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
            hlc: HlcStamp {
                millis: 1_764_576_000_000,
                counter: 3,
            },
        }
    }

    #[test]
    fn facts_of_a_page_are_stamped_in_change_order_after_the_base() {
        let b = base();
        let stamps = [
            b.stamp(11, 0),
            b.stamp(11, 1),
            b.stamp(12, 0),
            b.stamp(40, 1),
        ];
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
        assert!(stamps[0] > b.hlc);
    }

    #[test]
    fn ids_are_v7_at_the_application_time_and_differ_per_device_and_change() {
        let b = base();
        let phone: DeviceId = "phone-1".parse().unwrap();
        let other: DeviceId = "phone-2".parse().unwrap();
        let id = b.event_id(&phone, 11, 0);
        assert_eq!(id.0.get_version_num(), 7);
        assert_eq!(id, b.event_id(&phone, 11, 0));
        assert_ne!(id, b.event_id(&phone, 11, 1));
        assert_ne!(id, b.event_id(&other, 11, 0));
        let a: AssignmentId = "A-1".parse().unwrap();
        let visit = b.visit_id(&phone, &a);
        assert_eq!(visit.0.get_version_num(), 7);
        assert_ne!(visit, b.visit_id(&other, &a));
        let (secs, _) = visit.0.get_timestamp().unwrap().to_unix();
        assert_eq!(secs as i64, b.applied_at.timestamp());
    }
}
