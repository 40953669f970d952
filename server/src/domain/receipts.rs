//! Receipts derived from download acknowledgements: a device's pull
//! acknowledges the pages it applied ([`PageReceipt`]: cursor, time, HLC
//! base, the changes that became receipts); the server derives each
//! "assignment received" fact the device recorded, with the envelope it
//! gave it (`doorstep_core::receipt`), stores it in `receipts` and
//! projects the visits it opened or updated. So a download uploads no
//! receipt events, and the device's log and the server's timeline still
//! hold the same facts: both replays give the same visit.
//!
//! When: the pull's transaction checks the acknowledgement and holds it
//! ([`acknowledge`]: stored with the cursor, durable before the answer);
//! the receipts are derived after the answer ([`settle_soon`]), so the
//! phone does not wait for them, once its download ends (or pauses), so
//! they do not take the server's cores from the pages it still serves, in
//! short steps of their own
//! ([`settle_step`]: the oldest held first, its rest kept in its place),
//! so the phone's next acknowledgement does not wait behind a whole page
//! of them on the writer either. Whatever
//! reads them first settles them: a push of the same device derives its
//! held acknowledgements before admitting its events (`domain::ingest`),
//! and the server derives any a crash left when it starts
//! ([`settle_left_over`]). An exchange, whose push answers anyway, derives
//! its acknowledgement at once, after those held ([`acknowledge_with_push`]).
//! A receipt's times are the acknowledgement's, whenever it is derived.
//!
//! Only the technician's own assignment changes become receipts (a range
//! naming others derives nothing); an acknowledgement delivered twice
//! derives nothing new. A page's span is read once, whatever its ranges.

use crate::app::AppState;
use crate::domain::projection::{project_visit, store_projection_of};
use crate::failure::{Failure, Fallible};
use crate::model::AssignmentView;
use crate::store::events::{self, VisitOwner};
use crate::store::receipts::{self, HeldAcknowledgement, NewReceipt};
use crate::store::visits;
use crate::store::{LockKey, Tx};
use crate::time::from_ms;
use doorstep_core::protocol::PageReceipt;
use doorstep_core::receipt::receipt_event;
use doorstep_core::{DeviceId, VisitEvent, VisitId, VisitState};
use std::collections::BTreeMap;

/// What deriving an acknowledgement did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Derived {
    /// Receipts newly stored.
    pub receipts: u64,
}

/// A visit the receipts touched: opened by them (replayed from memory,
/// with the center's assignment as read with the receipts), or known
/// before (replayed from the store).
enum Touched {
    Opened(VisitOwner, Vec<VisitEvent>, Box<AssignmentView>),
    Known,
}

/// The pages of an acknowledgement (a pull's `received`) that name
/// receipts; a malformed acknowledgement is refused whole, naming its
/// field.
fn naming_receipts(pages: &[PageReceipt]) -> Fallible<Vec<&PageReceipt>> {
    for (i, page) in pages.iter().enumerate() {
        if let Some((field, problem)) = page.problem(&format!("received[{i}]")) {
            return Err(Failure::field(&field, problem));
        }
    }
    Ok(pages.iter().filter(|p| !p.receipts.is_empty()).collect())
}

/// Takes a pull's acknowledgement (its `received`): a malformed one is
/// refused whole, naming its field; pages that name receipts are held
/// until [`settle`] derives them. True when something was held.
pub async fn acknowledge(
    tx: &mut dyn Tx,
    device: &str,
    technician: &str,
    pages: &[PageReceipt],
    now: i64,
) -> Fallible<bool> {
    let naming = naming_receipts(pages)?;
    if naming.is_empty() {
        return Ok(false);
    }
    let received = serde_json::to_string(&naming).map_err(|_| Failure::internal("encoding"))?;
    let held = HeldAcknowledgement {
        device: device.to_string(),
        technician: technician.to_string(),
        received,
        acknowledged_at: now,
    };
    receipts::hold(tx, &held).await?;
    Ok(true)
}

/// Takes an acknowledgement that comes with a push (an exchange) and
/// derives its receipts at once, in the push's transaction, after those
/// the device's earlier pulls left held: nothing is held only to be taken
/// back a moment later. Refused as [`acknowledge`] refuses.
pub async fn acknowledge_with_push(
    tx: &mut dyn Tx,
    app: &AppState,
    device: &str,
    technician: &str,
    pages: &[PageReceipt],
    now: i64,
) -> Fallible<()> {
    let naming = naming_receipts(pages)?;
    settle(tx, app, device).await?;
    derive(tx, app, device, technician, naming, now).await?;
    Ok(())
}

/// Derives the receipts of every acknowledgement `device` holds, oldest
/// first (before its pushes are admitted, and after a pull's answer).
pub async fn settle(tx: &mut dyn Tx, app: &AppState, device: &str) -> Fallible<Derived> {
    tx.lock(LockKey::device(device)).await?;
    let held = receipts::take_held(tx, Some(device)).await?;
    derive_held(tx, app, held).await
}

/// How many receipts one step after a pull's answer derives (about 5 ms
/// of the writer's time): a request that needs the writer meanwhile (the
/// phone's next acknowledgement, a push) waits for one step, not for a
/// whole page's receipts.
pub const SETTLE_STEP: u64 = 100;

/// After a pull's answer: its device's held acknowledgements derived,
/// oldest first, in steps of [`SETTLE_STEP`] receipts, each in a
/// transaction of its own; at once when the answer ended the device's
/// download (its answer empty), after `receipts_wait_ms` (the settings)
/// while it goes on: a phone with a page to apply comes back to
/// acknowledge it, and the pull that finds nothing more derives it all,
/// so a server with few cores spends them on the pages the phone waits
/// for; the wait covers a device that stops between pages. One that
/// fails stays held (the device's next push or pull, or the server's next
/// start, settles it).
pub fn settle_soon(app: &AppState, device: String, downloading: bool) {
    let st = app.clone();
    let job = async move {
        loop {
            let (app, device) = (st.clone(), device.clone());
            let step = st
                .db
                .tx(move |tx| {
                    Box::pin(async move { settle_step(tx, &app, &device, SETTLE_STEP).await })
                })
                .await;
            match step {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "deriving a pull's receipts failed; they stay held");
                    break;
                }
            }
        }
    };
    if downloading {
        let wait = std::time::Duration::from_millis(app.config.receipts_wait_ms);
        app.after_answer.spawn_after(wait, job);
    } else {
        app.after_answer.spawn(job);
    }
}

/// One step of [`settle_soon`]: derives at most `at_most` receipts of the
/// oldest acknowledgement `device` holds and keeps the rest of it held in
/// its place, ahead of any held later (so receipts are derived in the
/// order the phone recorded them). True when it found one to work on.
pub async fn settle_step(
    tx: &mut dyn Tx,
    app: &AppState,
    device: &str,
    at_most: u64,
) -> Fallible<bool> {
    tx.lock(LockKey::device(device)).await?;
    let Some((id, held)) = receipts::oldest_held(tx, device).await? else {
        return Ok(false);
    };
    let (now, rest) = split_after(held.pages()?, at_most);
    derive(
        tx,
        app,
        device,
        &held.technician,
        &now,
        held.acknowledged_at,
    )
    .await?;
    if rest.is_empty() {
        receipts::drop_held(tx, id).await?;
    } else {
        let rest = serde_json::to_string(&rest).map_err(|_| Failure::internal("encoding"))?;
        receipts::rewrite_held(tx, id, &rest).await?;
    }
    Ok(true)
}

/// Splits `pages` after the first `at_most` changes their ranges name:
/// (to derive now, to keep held). A page cut in two keeps its base and
/// playbooks in both parts, so every receipt keeps its stamp and its id.
fn split_after(pages: Vec<PageReceipt>, at_most: u64) -> (Vec<PageReceipt>, Vec<PageReceipt>) {
    let (mut now, mut rest) = (vec![], vec![]);
    let mut left = at_most;
    for page in pages {
        let (mut head, mut tail) = (page.clone(), page);
        head.receipts.clear();
        for [first, last] in std::mem::take(&mut tail.receipts) {
            let named = (last - first).saturating_add(1);
            if left >= named {
                head.receipts.push([first, last]);
                left -= named;
            } else if left > 0 {
                head.receipts.push([first, first + left - 1]);
                tail.receipts.push([first + left, last]);
                left = 0;
            } else {
                tail.receipts.push([first, last]);
            }
        }
        if !head.receipts.is_empty() {
            now.push(head);
        }
        if !tail.receipts.is_empty() {
            rest.push(tail);
        }
    }
    (now, rest)
}

/// At the server's start: the acknowledgements a stop left held, every
/// device's, derived.
pub async fn settle_left_over(app: &AppState) -> Fallible<Derived> {
    let st = app.clone();
    app.db
        .tx(move |tx| {
            Box::pin(async move {
                let held = receipts::take_held(tx, None).await?;
                derive_held(tx, &st, held).await
            })
        })
        .await
}

async fn derive_held(
    tx: &mut dyn Tx,
    app: &AppState,
    held: Vec<HeldAcknowledgement>,
) -> Fallible<Derived> {
    let mut derived = Derived::default();
    for h in held {
        let pages = h.pages()?;
        let more = derive(tx, app, &h.device, &h.technician, &pages, h.acknowledged_at).await?;
        derived.receipts += more.receipts;
    }
    Ok(derived)
}

/// Derives and stores the receipts of `pages` (checked when they were
/// acknowledged, at `now`), then projects the visits they touched.
async fn derive<'a>(
    tx: &mut dyn Tx,
    app: &AppState,
    device: &str,
    technician: &str,
    pages: impl IntoIterator<Item = &'a PageReceipt>,
    now: i64,
) -> Fallible<Derived> {
    let device_id: DeviceId = device
        .parse()
        .map_err(|_| Failure::internal("a device id that is not one"))?;
    let zone = crate::zone::for_phones(&app.zone, from_ms(now));
    let mut touched: BTreeMap<String, Touched> = BTreeMap::new();
    let mut derived = Derived::default();
    for page in pages {
        let base = page.base();
        // The page's ranges are increasing and apart (checked above): one
        // read of its span, each change kept if a range holds it. A
        // technician's changes are rarely adjacent in the center's log (an
        // order is created, then given to them), so a range is mostly one
        // change, and a read a range was a read a receipt.
        let (Some(&[first, _]), Some(&[_, last])) = (page.receipts.first(), page.receipts.last())
        else {
            continue;
        };
        let stored = receipts::stored_seqs(tx, device, first, last).await?;
        let changes = receipts::assignments_in(tx, technician, first, last).await?;
        for (seq, assignment, center) in changes {
            if !in_ranges(&page.receipts, seq) || stored.contains(&seq) {
                continue;
            }
            let trade = assignment.trade.as_str().to_string();
            let known = receipts::visit_of(tx, device, assignment.id.as_str()).await?;
            // A new visit walks the version the page names for its
            // trade; an update keeps its visit's.
            let (visit_id, version) = match &known {
                Some(v) => (
                    v.parse::<VisitId>()
                        .map_err(|e| Failure::corrupt("reading a visit id", e))?,
                    version_walked(tx, &touched, v).await?,
                ),
                None => (
                    base.visit_id(&device_id, &assignment.id, seq),
                    page.playbooks.get(&trade).copied(),
                ),
            };
            let walked = app.playbooks.holding(tx, &trade, version).await?;
            let Some(pb) = walked.get(&trade, version) else {
                continue; // the device could not have walked it either
            };
            let issues = assignment.field_issues(&pb.required_fields, &zone);
            let event = receipt_event(
                &base, &device_id, seq, visit_id, assignment, issues, version,
            );
            let body = serde_json::to_string(&event).map_err(|_| Failure::internal("encoding"))?;
            let (event_id, visit) = (event.id.to_string(), visit_id.to_string());
            let inserted = receipts::insert(
                tx,
                &NewReceipt {
                    event_id: &event_id,
                    device,
                    change_seq: seq,
                    visit_id: &visit,
                    assignment_id: event.assignment_id.as_str(),
                    version: event.assignment_version,
                    technician,
                    hlc_millis: event.hlc.millis,
                    hlc_counter: event.hlc.counter,
                    recorded_at: event.recorded_at.timestamp_millis(),
                    received_at: now,
                    body: &body,
                },
            )
            .await?;
            if !inserted {
                continue;
            }
            derived.receipts += 1;
            match touched.entry(visit) {
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    if let Touched::Opened(_, events, _) = e.get_mut() {
                        events.push(event);
                    }
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(if known.is_some() {
                        Touched::Known
                    } else {
                        let owner = VisitOwner {
                            assignment_id: event.assignment_id.to_string(),
                            technician: technician.to_string(),
                            device: device.to_string(),
                        };
                        Touched::Opened(owner, vec![event], Box::new(center))
                    });
                }
            }
        }
    }
    for (visit, t) in touched {
        match t {
            // Its only facts are these receipts, in stamp order already.
            Touched::Opened(owner, events, center) => {
                let state = VisitState::replay(&events);
                store_projection_of(tx, app, &visit, &owner, &state, None, &center).await?;
            }
            Touched::Known => project_visit(tx, app, &visit, None).await?,
        }
    }
    Ok(derived)
}

/// Whether one of `ranges` (increasing inclusive ranges, apart) holds `seq`.
fn in_ranges(ranges: &[[u64; 2]], seq: u64) -> bool {
    let i = ranges.partition_point(|&[_, last]| last < seq);
    ranges.get(i).is_some_and(|&[first, _]| first <= seq)
}

/// The playbook version a visit walks: its first "assignment received"
/// fact's (from this acknowledgement when it opened the visit).
async fn version_walked(
    tx: &mut dyn Tx,
    touched: &BTreeMap<String, Touched>,
    visit: &str,
) -> Fallible<Option<i64>> {
    let first = |e: &VisitEvent| e.kind.playbook_walked().map(|(_, version)| version);
    if let Some(Touched::Opened(_, events, _)) = touched.get(visit) {
        return Ok(events.iter().find_map(first).flatten());
    }
    // A visit known before: its projection keeps the version (one row).
    #[derive(serde::Deserialize)]
    struct Walked {
        #[serde(default)]
        playbook_version: Option<i64>,
    }
    if let Some((_, state)) = visits::load_visit_with_state(tx, visit).await? {
        let walked: Walked = serde_json::from_str(&state)
            .map_err(|e| Failure::corrupt("reading a visit's state", e))?;
        return Ok(walked.playbook_version);
    }
    for body in events::visit_event_bodies(tx, visit).await? {
        let event: VisitEvent = serde_json::from_str(&body)
            .map_err(|e| Failure::corrupt("reading a stored event", e))?;
        if let Some(version) = first(&event) {
            return Ok(version);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::{in_ranges, split_after};
    use doorstep_core::protocol::PageReceipt;

    fn page(after: u64, receipts: &[[u64; 2]]) -> PageReceipt {
        serde_json::from_value(serde_json::json!({
            "after": after, "cursor": after + 100, "applied_at": "2026-12-06T08:00:00Z",
            "hlc": {"millis": 1, "counter": 7}, "receipts": receipts,
            "playbooks": {"appliance_repair": 3},
        }))
        .unwrap()
    }

    #[test]
    fn a_step_derives_the_first_changes_named_and_keeps_the_rest_in_order() {
        let pages = vec![page(0, &[[1, 3], [5, 9]]), page(100, &[[101, 104]])];
        let (now, rest) = split_after(pages.clone(), 5);
        assert_eq!(now, vec![page(0, &[[1, 3], [5, 6]])]);
        assert_eq!(rest, vec![page(0, &[[7, 9]]), page(100, &[[101, 104]])]);
        // A cut on a range's end leaves no empty range behind.
        let (now, rest) = split_after(pages.clone(), 3);
        assert_eq!(
            (now, rest[0].receipts.clone()),
            (vec![page(0, &[[1, 3]])], vec![[5, 9]])
        );
        // Enough for everything: nothing stays held.
        let (now, rest) = split_after(pages.clone(), 12);
        assert_eq!((now, rest), (pages.clone(), vec![]));
        let (now, rest) = split_after(pages.clone(), 9);
        assert_eq!(
            now,
            vec![page(0, &[[1, 3], [5, 9]]), page(100, &[[101, 101]])]
        );
        assert_eq!(rest, vec![page(100, &[[102, 104]])]);
    }

    #[test]
    fn a_change_between_a_pages_ranges_is_no_receipt() {
        let ranges = [[2, 2], [4, 6], [9, 9]];
        let held: Vec<u64> = (0..=11).filter(|&seq| in_ranges(&ranges, seq)).collect();
        assert_eq!(held, [2, 4, 5, 6, 9]);
        assert!(!in_ranges(&[], 1));
    }
}
