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
//! How the ids' random bits are drawn is the page's [`ReceiptIds`]: all
//! from the digest ([`ReceiptIds::Hashed`], the first scheme), or, where
//! the server says in its pull answer that it derives them so,
//! [`ReceiptIds::InChangeOrder`]: the first 36 bits after the time count
//! the changes (`2·S + k` for a fact, `S` for a visit) and the digest gives
//! the other 38. A page's ids then sort as its changes, so the phone's
//! indexes of fact and visit ids take each new one at their end rather
//! than at a random place (a page of thousands of new orders is applied
//! about a tenth faster: docs/PERFORMANCE.md).
//!
//! The acknowledgement ([`crate::protocol::PageReceipt`]) carries `after`,
//! the page's cursor, `applied_at`, `base`, the ids' scheme and the ranges
//! of change seqs that became receipts: a few dozen bytes a page, however
//! many assignments it holds. The server reads those changes from its own log
//! and builds each receipt with [`receipt_event`], the phone with
//! [`PageStamper`] through the workflow: the same envelope and the same
//! fact, so both replays give the same visit.

use crate::assignment::{Assignment, FieldIssue};
use crate::clock::HlcStamp;
use crate::ids::{AssignmentId, DeviceId, EventId, VisitId};
use crate::workflow::{EventKind, Stamper, VisitEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most facts one downloaded change produces (a cancel after the
/// technician set off: the cancel and its conflict).
pub const FACTS_PER_CHANGE: u64 = 2;

/// How the random bits of a page's receipt and visit ids are drawn (see
/// the module docs). A server names the scheme it derives in its pull
/// answer; a server that names none derives [`ReceiptIds::Hashed`], and an
/// acknowledgement that names none was applied so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptIds {
    /// Every random bit from the digest.
    #[default]
    Hashed,
    /// The bits after the time count the page's changes, then the digest.
    InChangeOrder,
}

impl ReceiptIds {
    /// The first scheme: what a message that names none means.
    pub fn is_hashed(&self) -> bool {
        *self == ReceiptIds::Hashed
    }
}

/// Where a page's stamps come from: the cursor it was asked after, its
/// application time, the HLC stamp the phone ticked to for it and how its
/// ids are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageBase {
    pub after: u64,
    pub applied_at: DateTime<Utc>,
    pub hlc: HlcStamp,
    pub ids: ReceiptIds,
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
        let count = seq
            .saturating_mul(FACTS_PER_CHANGE)
            .saturating_add(u64::from(k));
        EventId(self.v7(count, &digest))
    }

    /// The id of the visit the change at `seq` opens on `device` for
    /// `assignment`.
    pub fn visit_id(&self, device: &DeviceId, assignment: &AssignmentId, seq: u64) -> VisitId {
        let digest = Sha256::new()
            .chain_update(b"doorstep receipt visit\0")
            .chain_update(device.as_str().as_bytes())
            .chain_update(b"\0")
            .chain_update(assignment.as_str().as_bytes())
            .finalize();
        VisitId(self.v7(seq, &digest))
    }

    /// A UUIDv7 at the page's time whose random bits are drawn as its
    /// scheme says from `count` and `digest`.
    fn v7(&self, count: u64, digest: &[u8]) -> uuid::Uuid {
        let mut bits = [0u8; 10];
        bits.copy_from_slice(&digest[..10]);
        if self.ids == ReceiptIds::InChangeOrder {
            counted(&mut bits, count);
        }
        let millis = u64::try_from(self.applied_at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid()
    }
}

/// Writes the low 36 bits of `count` into the first 36 random bits a UUIDv7
/// takes from `bits` (12 of its first two bytes, 6 of the third, the next
/// two bytes and the top two bits of the sixth), keeping the other 38.
fn counted(bits: &mut [u8; 10], count: u64) {
    let count = count & ((1 << 36) - 1);
    bits[0] = (count >> 32) as u8 & 0x0F;
    bits[1] = (count >> 24) as u8;
    bits[2] = (count >> 18) as u8 & 0x3F;
    bits[3] = (count >> 10) as u8;
    bits[4] = (count >> 2) as u8;
    bits[5] = ((count as u8 & 0x03) << 6) | (bits[5] & 0x3F);
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
        self.base.visit_id(self.device, self.assignment, self.seq)
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
            ids: ReceiptIds::InChangeOrder,
        }
    }

    fn hashed() -> PageBase {
        PageBase {
            ids: ReceiptIds::Hashed,
            ..base()
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
        for b in [base(), hashed()] {
            let phone: DeviceId = "phone-1".parse().unwrap();
            let other: DeviceId = "phone-2".parse().unwrap();
            let id = b.event_id(&phone, 11, 0);
            assert_eq!(id.0.get_version_num(), 7);
            assert_eq!(id, b.event_id(&phone, 11, 0));
            assert_ne!(id, b.event_id(&phone, 11, 1));
            assert_ne!(id, b.event_id(&phone, 12, 0));
            assert_ne!(id, b.event_id(&other, 11, 0));
            let a: AssignmentId = "A-1".parse().unwrap();
            let visit = b.visit_id(&phone, &a, 11);
            assert_eq!(visit.0.get_version_num(), 7);
            assert_ne!(visit, b.visit_id(&other, &a, 11));
            assert_ne!(visit, b.visit_id(&phone, &"A-2".parse().unwrap(), 11));
            let (secs, _) = visit.0.get_timestamp().unwrap().to_unix();
            assert_eq!(secs as i64, b.applied_at.timestamp());
        }
    }

    /// A change's facts (a cancel and its conflict) take the change's
    /// successive ids and stamps, in the order the workflow asks for them.
    #[test]
    fn a_changes_facts_take_its_successive_ids_and_stamps() {
        let b = base();
        let phone: DeviceId = "phone-1".parse().unwrap();
        let a: AssignmentId = "A-1".parse().unwrap();
        let mut stamper = PageStamper::new(&b, &phone, &a, 12);
        assert_eq!(stamper.visit_id(), b.visit_id(&phone, &a, 12));
        let first = (stamper.event_id(), stamper.hlc(b.applied_at));
        let second = (stamper.event_id(), stamper.hlc(b.applied_at));
        assert_eq!(first, (b.event_id(&phone, 12, 0), b.stamp(12, 0)));
        assert_eq!(second, (b.event_id(&phone, 12, 1), b.stamp(12, 1)));
        assert_eq!(stamper.last, Some(b.stamp(12, 1)));
    }

    /// The first scheme's ids stay what phones of that scheme recorded: a
    /// server derives them for every acknowledgement that names no scheme.
    #[test]
    fn hashed_ids_are_drawn_as_the_first_phones_drew_them() {
        let b = hashed();
        let phone: DeviceId = "phone-1".parse().unwrap();
        let a: AssignmentId = "A-1".parse().unwrap();
        assert_eq!(
            b.event_id(&phone, 11, 0).to_string(),
            "01a2309e-2400-7623-b6e7-7ef05c12a3ed"
        );
        assert_eq!(
            b.event_id(&phone, 11, 1).to_string(),
            "01a2309e-2400-7f4c-8a7e-755b715feb54"
        );
        assert_eq!(
            b.visit_id(&phone, &a, 11).to_string(),
            "01a2309e-2400-7322-a222-f57a25024ce9"
        );
        assert_eq!(b.visit_id(&phone, &a, 12), b.visit_id(&phone, &a, 11));
    }

    /// In change order, a page's ids sort as its changes (and a change's
    /// facts as their order), whatever the device or the assignment, and
    /// keep the rest of their bits from the digest.
    #[test]
    fn ids_in_change_order_sort_as_the_changes_of_the_page() {
        let b = base();
        let phone: DeviceId = "phone-1".parse().unwrap();
        let seqs = [11, 12, 13, 300, 301, 70_000, 1 << 33, (1 << 34) + 1];
        let facts: Vec<EventId> = seqs
            .iter()
            .flat_map(|&seq| [b.event_id(&phone, seq, 0), b.event_id(&phone, seq, 1)])
            .collect();
        let text: Vec<String> = facts.iter().map(|id| id.to_string()).collect();
        assert!(text.windows(2).all(|w| w[0] < w[1]), "{text:#?}");
        let visits: Vec<String> = seqs
            .iter()
            .map(|&seq| {
                let order: AssignmentId = format!("A-{}", 1_000_000 - seq % 1000).parse().unwrap();
                b.visit_id(&phone, &order, seq).to_string()
            })
            .collect();
        assert!(visits.windows(2).all(|w| w[0] < w[1]), "{visits:#?}");
        // The count (here 0x1_2345_6789) takes the 36 bits after the time,
        // around the version and variant; the digest's bits follow
        // unchanged.
        let id = b.event_id(&phone, 0x1_2345_6789 / 2, 1).to_string();
        let digest = hashed().event_id(&phone, 0x1_2345_6789 / 2, 1).to_string();
        assert_eq!(&id[..14], &digest[..14], "the time: {id} {digest}");
        assert_eq!(&id[14..26], "7123-9159-e2", "{id}");
        let byte = |text: &str| u8::from_str_radix(&text[26..28], 16).unwrap();
        assert_eq!(byte(&id) >> 6, 0b01, "the count's last two bits: {id}");
        assert_eq!(byte(&id) & 0x3F, byte(&digest) & 0x3F, "{id} {digest}");
        assert_eq!(&id[28..], &digest[28..], "{id} {digest}");
    }
}
