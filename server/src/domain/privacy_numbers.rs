//! Privacy numbers (号码隐私保护): the technician calls the customer through
//! a virtual number bound to the work order for as long as it is his, and
//! never sees the customer's real number.
//!
//! - **Binding** (with a provider configured): each outbox round,
//!   [`reconcile`] queues a bind (customer A ↔ the technician's work phone
//!   B → virtual X) for every order dispatched to a technician without a
//!   binding to him, and an unbind for every bound binding whose order was
//!   reassigned, cancelled, done or handed back. When the bind is
//!   delivered ([`record_delivery`]) the binding is `bound` and the
//!   assignment moves to a new version, so the phone downloads it again —
//!   now carrying the virtual number. A binding asked for
//!   `--privacy-binding-hours` is extended at the provider
//!   (`UpdateSubscription`, `updateExpire`, [`RENEW_KIND`]) once less than a
//!   quarter of that time is left while the order is still the technician's,
//!   so a long job's number does not stop connecting. A bind that failed
//!   only because a number was missing ([`NO_NUMBER`]) is tried again once
//!   the number is there (a dispatcher added the customer's phone); a
//!   provider's refusal is not.
//! - **Masking**: every JSON answer to a technician's device token goes
//!   through [`mask_for_device`] at the moment it is served
//!   (`http::privacy`): a customer's phone becomes the order's virtual
//!   number while it is bound to that technician, else the masked
//!   `138****8000`; and any other text of the answer that carries one of
//!   those customers' numbers, in any format (spaces, dashes, +86), has it
//!   masked too. Stored rows keep the real number (dispatchers see and
//!   search it); old change-log rows are masked when served like new ones.

use crate::domain::assignments::upsert_change;
use crate::domain::outbox::Delivery;
use crate::domain::personal_data::mask_phone;
use crate::failure::Fallible;
use crate::json_spans::{rewrite, Document, Kind, Malformed};
use crate::model::AssignmentStatus;
use crate::store::assignments::{self, store_assignment};
use crate::store::outbox::{enqueue, NewOutboxMessage, OutboxMessage};
use crate::store::privacy_numbers::{self as store, BindingState};
use crate::store::{LockKey, Tx};
use doorstep_core::Assignment;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

/// The outbox kind of a bind request (BindAxb).
pub const BIND_KIND: &str = "privacy_bind";
/// The outbox kind of an unbind request (UnbindSubscription).
pub const UNBIND_KIND: &str = "privacy_unbind";
/// The outbox kind of a binding's extension (UpdateSubscription, updateExpire).
pub const RENEW_KIND: &str = "privacy_renew";
/// Why a bind failed when a number was missing (tried again once both are there).
pub const NO_NUMBER: &str =
    "no number to bind: the customer's phone or the technician's work phone is missing";
/// The provider the outbox messages go to (`target`).
pub const PROVIDER: &str = "aliyun_pls";
/// Who moves an assignment to its version carrying the virtual number.
pub const ACTOR: &str = "system:privacy-numbers";
/// Orders bound or released per round, at most.
const ROUND: i64 = 100;

/// A number's national digits: its digits without a leading 86 / 0086
/// country code when that leaves a Chinese mobile or fixed number.
pub fn national_digits(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    for prefix in ["0086", "86"] {
        if let Some(rest) = digits.strip_prefix(prefix) {
            if rest.len() >= 10 && phone.trim_start().starts_with(['+', '0', '8']) {
                return rest.to_string();
            }
        }
    }
    digits
}

/// The customer numbers a document carries (national digits), to be found
/// inside its texts. A run of digits is looked up by its substrings, from
/// the shortest number's length to the longest's, rather than every number
/// searched for in every run: a pull page of 2 000 orders costs no more per
/// text than one order (the search was quadratic: 85 % of the CPU of a
/// 5 000-assignment download, docs/PERFORMANCE.md).
#[derive(Debug, Default)]
pub struct CustomerPhones {
    numbers: BTreeSet<String>,
    shortest: usize,
    longest: usize,
}

impl CustomerPhones {
    pub fn new(numbers: BTreeSet<String>) -> Self {
        let shortest = numbers.iter().map(String::len).min().unwrap_or(0).max(1);
        let longest = numbers.iter().map(String::len).max().unwrap_or(0);
        Self {
            numbers,
            shortest,
            longest,
        }
    }

    /// The number `digits` carries (the first in the set's order when it
    /// carries several).
    fn within(&self, digits: &str) -> Option<&String> {
        let mut found: Option<&String> = None;
        for start in 0..digits.len() {
            let ends = (start + self.shortest)..=digits.len().min(start + self.longest);
            for end in ends {
                if let Some(p) = self.numbers.get(&digits[start..end]) {
                    if found.is_none_or(|f| p < f) {
                        found = Some(p);
                    }
                }
            }
        }
        found
    }
}

/// Masks, inside `text`, every run of digits (with spaces, dashes,
/// brackets or a leading +) whose digits carry one of `phones`; the text
/// itself (borrowed, nothing copied) when none does. Digits and separators
/// are ASCII, so the runs are found byte by byte: a UTF-8 byte of any other
/// character is never one of them.
pub fn scrub_text<'t>(text: &'t str, phones: &CustomerPhones) -> Cow<'t, str> {
    if phones.numbers.is_empty() {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut digits = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            || (bytes[i] == b'+' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts {
            i += 1;
            continue;
        }
        // The run: digits and separators, ending on its last digit.
        let mut end = i;
        let mut j = i;
        digits.clear();
        while j < bytes.len() && (bytes[j].is_ascii_digit() || b" -()+".contains(&bytes[j])) {
            if bytes[j].is_ascii_digit() {
                end = j;
                digits.push(char::from(bytes[j]));
            }
            j += 1;
        }
        if let Some(p) = phones.within(&digits) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..i]);
            o.push_str(&mask_phone(p));
            copied = end + 1;
        }
        i = end + 1;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Where each object of an answer stands for the masking.
struct Places {
    /// Whether the object is a `customer` member of an ordinary object:
    /// its `phone` is the customer's number of the order it speaks of.
    customer: Vec<bool>,
    /// The order its members speak of: its own (an `assignment_id`, or the
    /// `id` beside a `customer`), else the one its enclosing object speaks
    /// of; a `customer` object speaks of its holder's.
    order: Vec<Option<usize>>,
}

impl Places {
    /// Objects open in document order, an enclosing one first: one pass.
    fn of(doc: &Document<'_>) -> Self {
        let n = doc.objects.len();
        let mut customer: Vec<bool> = Vec::with_capacity(n);
        let mut order: Vec<Option<usize>> = Vec::with_capacity(n);
        for (i, o) in doc.objects.iter().enumerate() {
            let inherited = o.parent.and_then(|p| order[p]);
            let is_customer =
                o.key.as_deref() == Some("customer") && o.parent.is_some_and(|p| !customer[p]);
            let own = || {
                let named = doc
                    .get(i, "assignment_id")
                    .or_else(|| doc.get(i, "customer").and(doc.get(i, "id")))?;
                match named {
                    Kind::Text(t) => Some(t),
                    _ => None,
                }
            };
            customer.push(is_customer);
            order.push(if is_customer {
                inherited
            } else {
                own().or(inherited)
            });
        }
        Self { customer, order }
    }
}

/// The customer numbers an answer carries (national digits, 7 or more):
/// the first `phone` of every `customer` object and every
/// `customer_phone`.
fn customer_phones(doc: &Document<'_>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in doc
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.key.as_deref() == Some("customer"))
    {
        if let Some(p) = doc.get(i, "phone").and_then(|k| doc.text(k)) {
            found.insert(national_digits(p));
        }
    }
    for t in &doc.texts {
        if matches!(&t.member_of, Some((_, key)) if key == "customer_phone") {
            found.insert(national_digits(&t.value));
        }
    }
    found
}

/// What a technician's device may read of an answer's numbers.
struct DeviceView<'v> {
    /// The technician's bound virtual numbers, by order.
    virtuals: &'v HashMap<String, String>,
    /// Whether an unbound order's number is masked (else left whole, and
    /// so are the customer phone fields and texts).
    mask_unbound: bool,
    /// The customers' numbers no other text may keep (none without
    /// `mask_unbound`).
    phones: CustomerPhones,
}

impl<'v> DeviceView<'v> {
    /// The view of an answer carrying the customer numbers `found`
    /// (national digits; none without `mask_unbound`).
    fn of(
        mut found: BTreeSet<String>,
        virtuals: &'v HashMap<String, String>,
        mask_unbound: bool,
    ) -> Self {
        // Numbers too short to be a phone (or masked already) are not searched.
        found.retain(|p| p.len() >= 7);
        // A virtual number is what the device may hold: never scrubbed.
        for x in virtuals.values() {
            found.remove(&national_digits(x));
        }
        DeviceView {
            virtuals,
            mask_unbound,
            phones: CustomerPhones::new(found),
        }
    }

    /// What the device reads for `phone` of order `assignment` (if known):
    /// the order's virtual number when bound to him, else the number
    /// masked; `None` when it reads the number as it is.
    fn number(&self, phone: &str, assignment: Option<&str>) -> Option<String> {
        match assignment.and_then(|a| self.virtuals.get(a)) {
            Some(x) => Some(x.clone()),
            None if !self.mask_unbound => None,
            None if phone.trim().is_empty() || phone.contains('*') => None,
            None => Some(mask_phone(&national_digits(phone))),
        }
    }

    /// The texts of `doc` the device reads otherwise, in document order:
    /// a customer's phone replaced by the number it may read, any other
    /// text with the customers' numbers masked inside it.
    fn changes<'d>(
        &'d self,
        doc: &'d Document<'_>,
        places: &'d Places,
    ) -> impl Iterator<Item = (usize, Cow<'d, str>)> + 'd {
        let order_text = move |o: usize| places.order[o].map(|t| doc.texts[t].value.as_ref());
        doc.texts.iter().enumerate().filter_map(move |(i, t)| {
            let phone_of = match &t.member_of {
                Some((o, key)) if places.customer[*o] && key == "phone" => Some(*o),
                Some((o, key))
                    if self.mask_unbound && !places.customer[*o] && key == "customer_phone" =>
                {
                    Some(*o)
                }
                _ => None,
            };
            match phone_of {
                Some(o) => self
                    .number(&t.value, order_text(o))
                    .map(|n| (i, Cow::Owned(n))),
                None => match scrub_text(&t.value, &self.phones) {
                    Cow::Owned(scrubbed) => Some((i, Cow::Owned(scrubbed))),
                    Cow::Borrowed(_) => None,
                },
            }
        })
    }
}

/// Rewrites an answer (JSON) for a technician's device: every customer
/// phone becomes the order's virtual number (`virtuals`: the technician's
/// bound numbers by order) or, with `mask_unbound`, the masked number, and
/// no other text keeps one of those customers' numbers; without
/// `mask_unbound` (`--privacy-mask-unbound false`) only the bound orders'
/// numbers are replaced, the others left whole. The answer is scanned, not
/// read into a tree ([`Document`]): the texts that change are written
/// again, every other byte copied as it was. An answer that is not JSON
/// is refused.
pub fn mask_for_device(
    answer: &[u8],
    virtuals: &HashMap<String, String>,
    mask_unbound: bool,
) -> Result<Vec<u8>, Malformed> {
    let doc = Document::scan(answer)?;
    let found = if mask_unbound {
        customer_phones(&doc)
    } else {
        BTreeSet::new()
    };
    let view = DeviceView::of(found, virtuals, mask_unbound);
    let places = Places::of(&doc);
    Ok(rewrite(answer, &doc, view.changes(&doc, &places)))
}

/// The number to bind for a phone as stored (11 national digits for a
/// mobile, a fixed number with its area code), or `None` when there is
/// none (missing, masked or erased).
pub fn bindable(phone: Option<&str>) -> Option<String> {
    let p = phone?;
    if p.contains('*') {
        return None;
    }
    let d = national_digits(p);
    (d.len() >= 7).then_some(d)
}

/// One round of bindings (run by the outbox worker when a provider is
/// configured): binds the dispatched orders without a binding, releases
/// the bindings of orders no longer their technician's. `expiry_ms`: how
/// long a binding is asked for. Returns how many messages it queued.
pub async fn reconcile(
    tx: &mut dyn Tx,
    now: i64,
    expiry_ms: i64,
    pool_key: &str,
) -> Fallible<usize> {
    let mut queued = 0;
    for u in store::to_bind(tx, NO_NUMBER, ROUND).await? {
        let id = uuid::Uuid::now_v7().to_string();
        let customer = serde_json::from_str::<Assignment>(&u.body)
            .ok()
            .and_then(|a| bindable(a.customer.phone.as_deref()));
        let technician = bindable(u.technician_phone.as_deref());
        let (Some(a), Some(b)) = (customer, technician) else {
            // Said once; tried again each round until a number is there.
            if !u.tried {
                store::insert(
                    tx,
                    &id,
                    &u.assignment_id,
                    &u.technician_id,
                    BindingState::Failed,
                    Some(NO_NUMBER),
                    now,
                )
                .await?;
            }
            continue;
        };
        store::insert(
            tx,
            &id,
            &u.assignment_id,
            &u.technician_id,
            BindingState::Binding,
            None,
            now,
        )
        .await?;
        let payload = json!({
            "binding_id": id,
            "pool_key": pool_key,
            "phone_a": a,
            "phone_b": b,
            "expires_at": now + expiry_ms,
            "out_order_id": u.assignment_id,
        });
        let key = format!("{BIND_KIND}:{id}");
        queued += queue(tx, BIND_KIND, key, &u.assignment_id, payload, now).await?;
    }
    for b in store::to_renew(tx, now + expiry_ms / 4, ROUND).await? {
        // Once per end: a renewal still in the outbox is not queued again.
        let payload = json!({
            "binding_id": b.id,
            "pool_key": pool_key,
            "subs_id": b.subs_id,
            "secret_no": b.virtual_number,
            "expires_at": now + expiry_ms,
        });
        let key = format!("{RENEW_KIND}:{}:{}", b.id, b.expires_at.unwrap_or_default());
        queued += queue(tx, RENEW_KIND, key, &b.assignment_id, payload, now).await?;
    }
    for b in store::to_release(tx, ROUND).await? {
        store::mark(tx, &b.id, BindingState::Unbinding, None, now).await?;
        let payload = json!({
            "binding_id": b.id,
            "pool_key": pool_key,
            "subs_id": b.subs_id,
            "secret_no": b.virtual_number,
        });
        let key = format!("{UNBIND_KIND}:{}", b.id);
        queued += queue(tx, UNBIND_KIND, key, &b.assignment_id, payload, now).await?;
    }
    Ok(queued)
}

/// Puts one provider call in the outbox, due now; 1 when it is new, 0 when
/// one with its key is there already.
async fn queue(
    tx: &mut dyn Tx,
    kind: &str,
    idempotency_key: String,
    assignment_id: &str,
    payload: Value,
    now: i64,
) -> Fallible<usize> {
    let fresh = enqueue(
        tx,
        &NewOutboxMessage {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.into(),
            idempotency_key,
            assignment_id: Some(assignment_id.to_string()),
            target: PROVIDER.into(),
            payload: payload.to_string(),
            first_attempt_at: now,
            created_at: now,
        },
    )
    .await?;
    Ok(usize::from(fresh))
}

/// The provider's reference of a delivered bind: `SubsId=…;SecretNo=…`.
pub fn bind_reference(subs_id: &str, secret_no: &str) -> String {
    format!("SubsId={subs_id};SecretNo={secret_no}")
}

/// Reads [`bind_reference`] back: (subs id, virtual number).
pub fn read_bind_reference(reference: &str) -> Option<(String, String)> {
    let mut subs = None;
    let mut secret = None;
    for part in reference.split(';') {
        match part.split_once('=') {
            Some(("SubsId", v)) => subs = Some(v.to_string()),
            Some(("SecretNo", v)) => secret = Some(v.to_string()),
            _ => {}
        }
    }
    Some((subs?, secret?))
}

/// Records what a delivery of a bind or unbind message (`m`) came to on its
/// binding; `retrying`: another attempt is planned. A delivered bind moves
/// the assignment to a new version (same fields) so that its technician's
/// phone downloads it again, now with the virtual number — when the order
/// is still his.
pub async fn record_delivery(
    tx: &mut dyn Tx,
    m: &OutboxMessage,
    outcome: &Delivery,
    retrying: bool,
    now: i64,
) -> Fallible<()> {
    let Some(id) = m.payload["binding_id"].as_str() else {
        return Ok(());
    };
    let Some(binding) = store::load(tx, id).await? else {
        return Ok(());
    };
    match (m.kind.as_str(), outcome) {
        (BIND_KIND, Delivery::Delivered { reference }) => {
            let Some((subs, x)) = reference.as_deref().and_then(read_bind_reference) else {
                return store::mark(
                    tx,
                    id,
                    BindingState::Failed,
                    Some("the provider answered without a virtual number"),
                    now,
                )
                .await;
            };
            let expires_at = m.payload["expires_at"].as_i64();
            store::mark_bound(tx, id, &x, &subs, expires_at, now).await?;
            tx.lock(LockKey::Assignments).await?;
            if let Some(mut v) = assignments::load_assignment(tx, &binding.assignment_id).await? {
                let his = v.status == AssignmentStatus::Assigned
                    && v.assignment.technician.as_ref().map(|t| t.as_str())
                        == Some(binding.technician_id.as_str());
                if his {
                    v.assignment.version += 1;
                    let change = upsert_change(&v.assignment);
                    store_assignment(tx, &v, &[change], ACTOR, false).await?;
                }
            }
            Ok(())
        }
        (BIND_KIND, Delivery::Retry(_)) if retrying => Ok(()),
        (BIND_KIND, Delivery::Retry(e) | Delivery::Refused(e)) => {
            store::mark(tx, id, BindingState::Failed, Some(e), now).await
        }
        (RENEW_KIND, Delivery::Delivered { .. }) => match m.payload["expires_at"].as_i64() {
            Some(at) => store::set_expiry(tx, id, at, now).await,
            None => Ok(()),
        },
        (RENEW_KIND, Delivery::Retry(_)) if retrying => Ok(()),
        (RENEW_KIND, Delivery::Retry(e) | Delivery::Refused(e)) => {
            // Still bound until its end: said on the binding for a dispatcher.
            let note = format!("could not extend the binding: {e}");
            store::mark(tx, id, BindingState::Bound, Some(&note), now).await
        }
        (UNBIND_KIND, Delivery::Delivered { .. }) => {
            store::mark(tx, id, BindingState::Unbound, None, now).await
        }
        (UNBIND_KIND, Delivery::Retry(_)) if retrying => Ok(()),
        (UNBIND_KIND, Delivery::Retry(e) | Delivery::Refused(e)) => {
            // Still bound at the provider: the number keeps connecting
            // until it expires. Said on the binding for a dispatcher.
            store::mark(tx, id, BindingState::Unbinding, Some(e), now).await
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer `v` as a device reads it.
    fn mask(v: &mut Value, virtuals: &HashMap<String, String>) {
        let bytes = serde_json::to_vec(v).unwrap();
        let masked = mask_for_device(&bytes, virtuals, true).unwrap();
        *v = serde_json::from_slice(&masked).unwrap();
    }

    fn leaks(body: &str) -> bool {
        [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+8613800138000",
        ]
        .iter()
        .any(|f| body.contains(f))
    }

    #[test]
    fn a_device_reads_the_virtual_number_of_a_bound_order_and_the_masked_one_otherwise() {
        let doc = |id: &str| {
            json!({"changes": [{"seq": 1, "change": {"kind": "assignment", "assignment": {
                "id": id, "version": 2,
                "customer": {"name": "王伟", "phone": "138 0013 8000", "address": "上海市浦东新区"},
                "notes": "call +86 138-0013-8000 before, or 13800138000"}}}]})
        };
        let mut virtuals = HashMap::new();
        virtuals.insert("A-1".to_string(), "17000000001".to_string());
        let mut bound = doc("A-1");
        mask(&mut bound, &virtuals);
        let a = &bound["changes"][0]["change"]["assignment"];
        assert_eq!(a["customer"]["phone"], "17000000001");
        assert_eq!(a["customer"]["name"], "王伟", "only the number is hidden");
        assert!(!leaks(&bound.to_string()), "{bound}");
        let mut other = doc("A-2");
        mask(&mut other, &virtuals);
        let a = &other["changes"][0]["change"]["assignment"];
        assert_eq!(a["customer"]["phone"], "138****8000");
        assert_eq!(a["notes"], "call 138****8000 before, or 138****8000");
        assert!(!leaks(&other.to_string()), "{other}");
    }

    /// `--privacy-mask-unbound false`: a bound order's number is its
    /// virtual one, an unbound order's left whole, and no text rewritten.
    #[test]
    fn with_unbound_numbers_unmasked_only_a_bound_orders_number_is_replaced() {
        let doc = json!({"changes": [
            {"assignment_id": "A-1", "assignment": {"id": "A-1",
                "customer": {"phone": "13800138000", "name": "王伟"}, "notes": "13800138000"}},
            {"assignment_id": "A-2", "assignment": {"id": "A-2",
                "customer": {"phone": "13900139000"}}}]});
        let mut virtuals = HashMap::new();
        virtuals.insert("A-1".to_string(), "17000000001".to_string());
        let bytes = serde_json::to_vec(&doc).unwrap();
        let out: Value =
            serde_json::from_slice(&mask_for_device(&bytes, &virtuals, false).unwrap()).unwrap();
        let mut want = doc.clone();
        want["changes"][0]["assignment"]["customer"]["phone"] = json!("17000000001");
        assert_eq!(out, want);
    }

    /// A number masked already (an erased or older order) or an empty one
    /// is what the device reads as it is: not masked a second time.
    #[test]
    fn a_phone_masked_already_or_empty_is_left_as_it_is() {
        let mut v = json!({"changes": [
            {"assignment": {"id": "A-5", "customer": {"phone": "138****8000"}}},
            {"assignment": {"id": "A-6", "customer": {"phone": "  "}}},
            {"assignment_id": "A-7", "customer_phone": "139****1234"}]});
        let before = v.clone();
        mask(&mut v, &HashMap::new());
        assert_eq!(v, before);
    }

    #[test]
    fn events_naming_their_order_are_masked_and_unrelated_numbers_kept() {
        let mut v = json!({"history": [{"assignment_id": "A-9", "kind": {"type": "assignment_received",
            "assignment": {"id": "A-9", "customer": {"phone": "+86 13800138000"}}}}],
            "amount": "paid 12000 fen", "work_phone": "400 820 1234"});
        mask(&mut v, &HashMap::new());
        assert_eq!(
            v["history"][0]["kind"]["assignment"]["customer"]["phone"],
            "138****8000"
        );
        assert_eq!(v["amount"], "paid 12000 fen");
        assert_eq!(v["work_phone"], "400 820 1234");
    }

    /// A page of 2 000 orders: each customer's number found in any text of
    /// the page, however many numbers it carries; a run carrying two numbers
    /// is masked as the first of them in the set's order.
    #[test]
    fn a_customers_number_is_found_inside_any_text_of_a_page_of_many_orders() {
        let numbers: BTreeSet<String> = (0..2000).map(|i| format!("1390000{i:04}")).collect();
        let phones = CustomerPhones::new(numbers);
        assert_eq!(
            scrub_text("回电 139 0000 1234，或 13900001999 均可", &phones),
            "回电 139****1234，或 139****1999 均可"
        );
        assert_eq!(
            scrub_text("2026-12-04 09:30, A-20261204-0001", &phones),
            "2026-12-04 09:30, A-20261204-0001"
        );
        assert_eq!(
            scrub_text("13800138000", &phones),
            "13800138000",
            "not a customer's"
        );
        assert!(
            matches!(
                scrub_text("上门 2026-12-04 09:30", &phones),
                Cow::Borrowed(_)
            ),
            "a text carrying no customer's number is the text itself, not a copy"
        );
        assert_eq!(
            scrub_text("电话+86 139-0000-1234。", &phones),
            "电话139****1234。",
            "a number with its country code, between other characters"
        );
        let two = CustomerPhones::new(["8001380", "13800138000"].map(String::from).into());
        assert_eq!(scrub_text("13800138000", &two), mask_phone("13800138000"));
        assert_eq!(
            scrub_text("x 8001380 y", &two),
            format!("x {} y", mask_phone("8001380"))
        );
    }

    /// The masking as a walk over a `serde_json::Value` (how it was first
    /// written, a tree read and written whole): what the scan of the
    /// answer's bytes must give for any answer.
    fn masked_by_walk(
        doc: &Value,
        virtuals: &HashMap<String, String>,
        mask_unbound: bool,
    ) -> Value {
        fn phones_in(v: &Value, found: &mut BTreeSet<String>) {
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        match (k.as_str(), c) {
                            ("customer", Value::Object(co)) => {
                                if let Some(p) = co.get("phone").and_then(Value::as_str) {
                                    found.insert(national_digits(p));
                                }
                                phones_in(c, found);
                            }
                            ("customer_phone", Value::String(p)) => {
                                found.insert(national_digits(p));
                            }
                            _ => phones_in(c, found),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| phones_in(i, found)),
                _ => {}
            }
        }
        fn walk(view: &DeviceView<'_>, v: &mut Value, assignment: Option<&str>) {
            let phone = |p: &mut String, here: Option<&str>| {
                if let Some(n) = view.number(p, here) {
                    *p = n;
                }
            };
            match v {
                Value::Object(m) => {
                    let own = m
                        .get("assignment_id")
                        .or_else(|| m.get("customer").and(m.get("id")))
                        .and_then(Value::as_str)
                        .map(String::from);
                    let here = own.as_deref().or(assignment);
                    for (k, c) in m.iter_mut() {
                        match (k.as_str(), c) {
                            ("customer", Value::Object(co)) => {
                                for (f, value) in co.iter_mut() {
                                    match (f.as_str(), value) {
                                        ("phone", Value::String(p)) => phone(p, here),
                                        (_, value) => walk(view, value, here),
                                    }
                                }
                            }
                            ("customer_phone", Value::String(p)) if view.mask_unbound => {
                                phone(p, here)
                            }
                            (_, c) => walk(view, c, here),
                        }
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(|i| walk(view, i, assignment)),
                Value::String(s) => {
                    if let Cow::Owned(x) = scrub_text(s, &view.phones) {
                        *s = x;
                    }
                }
                _ => {}
            }
        }
        let mut phones = BTreeSet::new();
        if mask_unbound {
            phones_in(doc, &mut phones);
        }
        let view = DeviceView::of(phones, virtuals, mask_unbound);
        let mut out = doc.clone();
        walk(&view, &mut out, None);
        out
    }

    /// A document of customers, orders, phones and notes nested every
    /// way, drawn from `seed` (xorshift: the same documents every run).
    fn drawn(seed: &mut u64, depth: u32) -> Value {
        fn below(seed: &mut u64, n: u64) -> u64 {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed % n
        }
        const KEYS: [&str; 9] = [
            "customer",
            "phone",
            "customer_phone",
            "assignment_id",
            "id",
            "notes",
            "name",
            "changes",
            "x",
        ];
        const TEXTS: [&str; 14] = [
            "13800138000",
            "138 0013 8000",
            "+86 139-0000-1234",
            "13900001234",
            "A-1",
            "A-2",
            "A-3",
            "call 13800138000 first",
            "",
            "12345",
            "17000000001",
            "回电 139 0000 1234。",
            "a\"q\\\n13800138000",
            "138****8000",
        ];
        let pick = below(seed, if depth == 0 { 4 } else { 9 });
        match pick {
            0 => Value::String(TEXTS[below(seed, TEXTS.len() as u64) as usize].into()),
            1 => json!(below(seed, 20_000_000_000)),
            2 => Value::Null,
            3 => Value::String(TEXTS[below(seed, TEXTS.len() as u64) as usize].into()),
            4 => Value::Array(
                (0..below(seed, 4))
                    .map(|_| drawn(seed, depth - 1))
                    .collect(),
            ),
            _ => {
                let n = below(seed, 6);
                let mut m = serde_json::Map::new();
                for _ in 0..n {
                    let key = KEYS[below(seed, KEYS.len() as u64) as usize];
                    m.insert(key.to_string(), drawn(seed, depth - 1));
                }
                Value::Object(m)
            }
        }
    }

    #[test]
    fn the_scanned_masking_reads_as_the_masking_of_the_whole_tree_for_any_answer() {
        let mut virtuals = HashMap::new();
        virtuals.insert("A-1".to_string(), "17000000001".to_string());
        virtuals.insert("A-3".to_string(), "17000000003".to_string());
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut changed = 0;
        for _ in 0..3000 {
            let doc = json!({"changes": (0..4).map(|_| drawn(&mut seed, 5)).collect::<Vec<_>>()});
            let bytes = serde_json::to_vec(&doc).unwrap();
            for mask_unbound in [true, false] {
                let out = mask_for_device(&bytes, &virtuals, mask_unbound).unwrap();
                let read: Value = serde_json::from_slice(&out).unwrap();
                let want = masked_by_walk(&doc, &virtuals, mask_unbound);
                assert_eq!(read, want, "{doc}");
                changed += usize::from(read != doc);
            }
        }
        assert!(
            changed > 1000,
            "the documents drawn carry numbers to mask: {changed}"
        );
    }

    #[test]
    fn national_digits_drop_the_country_code_only() {
        assert_eq!(national_digits("+86 138 0013 8000"), "13800138000");
        assert_eq!(national_digits("008613800138000"), "13800138000");
        assert_eq!(national_digits("138-0013-8000"), "13800138000");
        assert_eq!(national_digits("8613800138000"), "13800138000");
        assert_eq!(national_digits("021 6123 4567"), "02161234567");
        assert_eq!(bindable(Some("138****8000")), None);
        assert_eq!(bindable(None), None);
        assert_eq!(
            bindable(Some("138 0013 8000")).as_deref(),
            Some("13800138000")
        );
    }

    #[test]
    fn a_bind_reference_reads_back() {
        let r = bind_reference("1000000123", "17000000001");
        assert_eq!(
            read_bind_reference(&r),
            Some(("1000000123".into(), "17000000001".into()))
        );
        assert_eq!(read_bind_reference("SubsId=1"), None);
    }
}
