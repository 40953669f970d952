//! Personal data as China's PIPL expects: the retention rule (the customer
//! contact of orders finished more than `--contact-retention-days` ago is
//! masked), erasure on request (audited, reaching the phones through the
//! download as `ChangeKind::Erased`), the export of one customer's data for
//! an access request, and the contact access log.
//!
//! The contact is the customer's name, phone, address and map location, in
//! every stored copy of an order (`store::personal_data::documents_of`),
//! and a personal e-fapiao buyer's e-mail and mobile (in the phone's fact,
//! the visit and the invoice request; the title stays with the invoice).
//! What accounting and the audit need stays untouched: visits, amounts,
//! payments and receipts, signatures and every digest. The signed report
//! holds no contact data (docs/SIGNOFF.md), so a masked or erased order's
//! report still verifies.

use crate::app::AppState;
use crate::failure::{Failure, Fallible};
use crate::model::AssignmentStatus;
use crate::model::BuyerType;
use crate::store::personal_data::{self as store, ContactState, Holder, StoredDoc};
use crate::store::{assignments, invoices, visits, LockKey, Tx};
use crate::time::{from_ms, now_ms};
use doorstep_core::contact_text::{replace_in_fields, replace_mobile_numbers, ORDER_FREE_TEXT};
use doorstep_core::ids::AssignmentId;
use doorstep_core::protocol::ChangeKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Orders masked per transaction by one retention batch.
pub const RETENTION_BATCH: i64 = 200;

/// Longest reason an erasure accepts, in characters.
pub const REASON_CHARS: usize = 500;

/// What happens to a customer's contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// Retention: enough left to recognise the order on a call (the
    /// surname, the phone's first 3 and last 4 digits, the address up to
    /// its district), the map location removed.
    Mask,
    /// Erasure on request: name, phone, address and location removed.
    Erase,
}

/// A name as retention leaves it: its first character and `*`.
pub fn mask_name(name: &str) -> String {
    match name.trim().chars().next() {
        Some(first) => format!("{first}*"),
        None => String::new(),
    }
}

/// A phone number as retention leaves it: the first 3 and last 4 digits
/// (`138****5678`); fewer than 8 digits leave `****`.
pub fn mask_phone(phone: &str) -> String {
    if phone.contains("****") {
        return phone.to_string(); // masked already
    }
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "****".into();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// An address as retention leaves it: up to its last province, city,
/// district or county marker among the first 12 characters, then `***`
/// (`上海市浦东新区***`); an address without one leaves `***`.
pub fn mask_address(address: &str) -> String {
    format!("{}***", doorstep_core::assignment::district_of(address))
}

/// Rewrites one customer object (`{name, phone, address, location, …}`).
/// Returns whether it changed.
pub fn rewrite_contact(customer: &mut Map<String, Value>, how: Rewrite) -> bool {
    let before = customer.clone();
    for field in ["name", "phone", "address", "location"] {
        let Some(value) = customer.get_mut(field) else {
            continue;
        };
        let new = match (how, field, value.as_str()) {
            (_, _, _) if value.is_null() => continue,
            (Rewrite::Mask, "name", Some(s)) => Value::String(mask_name(s)),
            (Rewrite::Mask, "phone", Some(s)) => Value::String(mask_phone(s)),
            (Rewrite::Mask, "address", Some(s)) => Value::String(mask_address(s)),
            _ => Value::Null,
        };
        *value = new;
    }
    *customer != before
}

/// An e-mail address as retention leaves it: its first character and its
/// domain (`f***@example.com`); text that is no address leaves `***`.
pub fn mask_email(email: &str) -> String {
    if email.contains("***") {
        return email.to_string(); // masked already
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".into(),
    }
}

/// Rewrites a personal e-fapiao buyer (`{buyer_type, title, tax_number,
/// email, phone}`: the phone's `invoice_requested` fact and a visit's
/// `invoice_request`): the e-mail and mobile the invoice was sent to. The
/// title stays — it is printed on the issued invoice, which accounting law
/// keeps — and a company's buyer is no personal data. Returns whether it
/// changed.
pub fn rewrite_buyer(buyer: &mut Map<String, Value>, how: Rewrite) -> bool {
    if buyer.get("buyer_type").and_then(Value::as_str) != Some("personal") {
        return false;
    }
    let before = buyer.clone();
    for field in ["email", "phone"] {
        let Some(value) = buyer.get_mut(field) else {
            continue;
        };
        let new = match (how, field, value.as_str()) {
            (_, _, _) if value.is_null() => continue,
            (Rewrite::Mask, "email", Some(s)) => Value::String(mask_email(s)),
            (Rewrite::Mask, "phone", Some(s)) => Value::String(mask_phone(s)),
            _ => Value::Null,
        };
        *value = new;
    }
    *buyer != before
}

/// Rewrites what an outbox message sent about the customer: a notice's
/// `address` (the mobile an SMS went to; an openid is no number and is
/// removed), an e-fapiao request's `email` and `phone` (personal buyers:
/// a company's stay), a privacy-number bind's `phone_a`. Returns whether it
/// changed.
pub fn rewrite_sent(message: &mut Map<String, Value>, how: Rewrite) -> bool {
    let before = message.clone();
    let company = message.get("buyer_type").and_then(Value::as_str) == Some("company");
    let sms = message.get("channel").and_then(Value::as_str) == Some("sms");
    for field in ["address", "email", "phone", "phone_a"] {
        if company && (field == "email" || field == "phone") {
            continue;
        }
        let Some(value) = message.get_mut(field) else {
            continue;
        };
        let Some(text) = value.as_str() else {
            continue;
        };
        *value = match (how, field) {
            (Rewrite::Mask, "email") => Value::String(mask_email(text)),
            (Rewrite::Mask, "address") if !sms => Value::Null,
            // An SMS address is `+86…`: masked as the mainland number.
            (Rewrite::Mask, _) => {
                Value::String(mask_phone(text.strip_prefix("+86").unwrap_or(text)))
            }
            (Rewrite::Erase, _) => Value::Null,
        };
    }
    *message != before
}

/// `text` with every mainland mobile number in it masked (`139****5678`) or
/// removed (`***`): a number a dispatcher typed into an order's notes is
/// the customer's contact too. None when it has none.
pub fn scrub_numbers(text: &str, how: Rewrite) -> Option<String> {
    replace_mobile_numbers(text, |digits| scrubbed(digits, how))
}

/// What a mobile number found in free text becomes.
fn scrubbed(digits: &str, how: Rewrite) -> String {
    match how {
        Rewrite::Mask => mask_phone(digits),
        Rewrite::Erase => "***".into(),
    }
}

/// Scrubs the numbers in `obj`'s string fields named `fields`.
fn scrub_fields(obj: &mut Map<String, Value>, fields: &[&str], how: Rewrite) -> bool {
    replace_in_fields(obj, fields, |digits| scrubbed(digits, how))
}

/// Rewrites every `customer` object at any depth of a stored document (an
/// assignment, a change, an event, a visit state), the numbers typed into
/// an order's free text (beside its `customer`, or in a change of that
/// text), and every personal e-fapiao buyer (`buyer`, `invoice_request`).
/// Returns whether it changed.
pub fn rewrite_customers(v: &mut Value, how: Rewrite) -> bool {
    let mut changed = false;
    match v {
        Value::Object(obj) => {
            if obj.contains_key("customer") {
                changed |= scrub_fields(obj, &ORDER_FREE_TEXT, how);
            }
            let free_text_change = obj
                .get("field")
                .and_then(Value::as_str)
                .is_some_and(|f| ORDER_FREE_TEXT.contains(&f));
            if free_text_change {
                changed |= scrub_fields(obj, &["before", "after"], how);
            }
            for (key, child) in obj.iter_mut() {
                match (key.as_str(), child) {
                    ("customer", Value::Object(c)) => changed |= rewrite_contact(c, how),
                    ("buyer" | "invoice_request", Value::Object(b)) => {
                        changed |= rewrite_buyer(b, how)
                    }
                    (_, child) => changed |= rewrite_customers(child, how),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                changed |= rewrite_customers(item, how);
            }
        }
        _ => {}
    }
    changed
}

/// Rewrites one stored document; returns whether it changed.
fn rewrite_document(doc: &mut StoredDoc, how: Rewrite) -> Fallible<bool> {
    let mut v: Value = serde_json::from_str(&doc.json)
        .map_err(|e| Failure::corrupt("reading a stored document for personal data", e))?;
    let changed = match (&doc.holder, &mut v) {
        // An intake's caller is the customer object itself.
        (Holder::Intake, Value::Object(c)) => rewrite_contact(c, how),
        (Holder::Outbox, Value::Object(m)) => rewrite_sent(m, how),
        (Holder::IntakeNote, Value::Object(n)) => scrub_fields(n, &["content", "answer"], how),
        _ => rewrite_customers(&mut v, how),
    };
    if changed {
        doc.json = serde_json::to_string(&v).map_err(|_| Failure::internal("encoding"))?;
    }
    Ok(changed)
}

/// Rewrites every stored copy of the order's customer contact; returns how
/// many documents changed.
pub async fn rewrite_order(tx: &mut dyn Tx, assignment: &str, how: Rewrite) -> Fallible<usize> {
    let mut changed = 0;
    for mut doc in store::documents_of(tx, assignment).await? {
        if rewrite_document(&mut doc, how)? {
            store::write_document(tx, &doc).await?;
            changed += 1;
        }
    }
    // A personal buyer's e-fapiao request keeps its title and number (the
    // invoice's record) but not where it was sent.
    for r in invoices::of_assignment(tx, assignment).await? {
        if r.buyer_type != BuyerType::Personal {
            continue;
        }
        let (email, phone) = match how {
            Rewrite::Mask => (
                r.email.as_deref().map(mask_email),
                r.phone.as_deref().map(mask_phone),
            ),
            Rewrite::Erase => (None, None),
        };
        if email != r.email || phone != r.phone {
            invoices::set_delivery_contact(tx, &r.id, email.as_deref(), phone.as_deref()).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// An event arriving for an order whose contact was already masked or
/// erased is stored the same way (a phone that was offline, or an event
/// still in its outbox when the erasure reached it). `seen` caches each
/// order's state for one push.
pub async fn as_stored(
    tx: &mut dyn Tx,
    assignment: &str,
    body: String,
    seen: &mut HashMap<String, Option<Rewrite>>,
) -> Fallible<String> {
    if !seen.contains_key(assignment) {
        let how = match store::contact_state(tx, assignment).await? {
            Some(ContactState {
                erased_at: Some(_), ..
            }) => Some(Rewrite::Erase),
            Some(ContactState {
                masked_at: Some(_), ..
            }) => Some(Rewrite::Mask),
            _ => None,
        };
        seen.insert(assignment.to_string(), how);
    }
    let Some(how) = seen[assignment] else {
        return Ok(body);
    };
    let mut doc = StoredDoc {
        holder: Holder::Event,
        key: String::new(),
        json: body,
    };
    rewrite_document(&mut doc, how)?;
    Ok(doc.json)
}

/// What one retention batch masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RetentionReport {
    /// Orders finished before this time were due.
    pub cutoff: chrono::DateTime<chrono::Utc>,
    pub masked: Vec<String>,
    /// More orders wait for the next batch.
    pub more: bool,
}

/// Masks the contact of up to [`RETENTION_BATCH`] orders finished more
/// than `days` days before `now` (Unix ms), in the caller's transaction.
pub async fn retention_batch(tx: &mut dyn Tx, days: i64, now: i64) -> Fallible<RetentionReport> {
    let cutoff = now - days.max(1) * 86_400_000;
    let due = store::due_for_retention(tx, cutoff, RETENTION_BATCH + 1).await?;
    let more = due.len() > RETENTION_BATCH as usize;
    let mut masked = Vec::new();
    for id in due.into_iter().take(RETENTION_BATCH as usize) {
        rewrite_order(tx, &id, Rewrite::Mask).await?;
        store::mark_masked(tx, &id, now).await?;
        masked.push(id);
    }
    Ok(RetentionReport {
        cutoff: from_ms(cutoff),
        masked,
        more,
    })
}

/// Runs retention batches until no finished order is due, each batch in
/// its own transaction; returns every order masked.
pub async fn run_retention(app: &AppState) -> Fallible<RetentionReport> {
    let days = app.config.contact_retention_days;
    let mut all = RetentionReport {
        cutoff: from_ms(now_ms()),
        masked: Vec::new(),
        more: false,
    };
    loop {
        let now = now_ms();
        let batch = app
            .db
            .tx(move |tx| Box::pin(async move { retention_batch(tx, days, now).await }))
            .await?;
        all.cutoff = batch.cutoff;
        all.masked.extend(batch.masked);
        if !batch.more {
            return Ok(all);
        }
    }
}

/// How often the server's own retention sweep runs.
pub const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Starts the retention sweep: at once, then every [`RETENTION_INTERVAL`].
/// It logs how many orders it masked, never which customer.
pub fn spawn_retention_timer(app: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RETENTION_INTERVAL);
        loop {
            every.tick().await;
            match run_retention(&app).await {
                Ok(r) if !r.masked.is_empty() => {
                    tracing::info!(
                        masked = r.masked.len(),
                        "contact retention masked finished orders"
                    )
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "contact retention sweep failed; retried next hour")
                }
            }
        }
    })
}

/// The `what` of the 404 when no order or intake has the phone number (the
/// HTTP layer words it without the number).
pub const NO_ORDER_FOR_PHONE: &str = "order or intake for this phone number";

/// Whose data a request is about: a phone number or one work order.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerKey {
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub assignment_id: Option<String>,
}

/// An erasure on request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub assignment_id: Option<String>,
    /// Why (the customer's request, its reference): kept in the audit.
    pub reason: String,
}

/// The digits of a mainland phone number, without a +86 / 0086 prefix.
pub fn normalize_phone(phone: &str) -> Option<String> {
    if !phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'))
    {
        return None;
    }
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let digits = digits
        .strip_prefix("0086")
        .filter(|d| d.len() == 11)
        .or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11))
        .map(str::to_string)
        .unwrap_or(digits);
    (5..=15).contains(&digits.len()).then_some(digits)
}

impl CustomerKey {
    /// Exactly one of the two, valid; the refusal names the field, never its value.
    fn check(&self) -> Fallible<()> {
        match (&self.phone, &self.assignment_id) {
            (Some(_), Some(_)) | (None, None) => Err(Failure::field(
                "phone",
                "give either phone or assignment_id, not both and not neither / 请提供 phone（电话）或 assignment_id（工单号）其中之一。",
            )),
            (Some(p), None) if normalize_phone(p).is_none() => Err(Failure::field(
                "phone",
                "expected a phone number of 5 to 15 digits, such as 138 0013 8000 / 应为 5 到 15 位数字的电话号码，例如 138 0013 8000。",
            )),
            (None, Some(a)) if AssignmentId::new(a).is_err() => Err(Failure::field(
                "assignment_id",
                "expected a work order id such as A-20261201-001 / 应为工单号，例如 A-20261201-001。",
            )),
            _ => Ok(()),
        }
    }
}

/// One order a request matched.
#[derive(Debug, Clone)]
struct Match {
    id: String,
    status: String,
    state: ContactState,
}

/// The orders and the unlinked intakes (a consultation answered at the
/// desk) of a customer.
async fn find(tx: &mut dyn Tx, key: &CustomerKey) -> Fallible<(Vec<Match>, Vec<String>)> {
    key.check()?;
    if let Some(id) = &key.assignment_id {
        let state = store::contact_state(tx, id)
            .await?
            .ok_or_else(|| Failure::not_found("assignment", id))?;
        let status = assignments::load_assignment(tx, id)
            .await?
            .map(|v| v.status.as_str().to_string())
            .unwrap_or_default();
        return Ok((
            vec![Match {
                id: id.clone(),
                status,
                state,
            }],
            vec![],
        ));
    }
    let wanted = key.phone.as_deref().and_then(normalize_phone);
    let phone_of = |v: &Value| v["phone"].as_str().and_then(normalize_phone);
    let mut orders = Vec::new();
    // The look-up rows keep a phone's digits with "86" before eleven taken
    // off (`order_lookup::phone_digits`), where this request's phone also
    // drops a "0086": the orders found under either, each checked below.
    let digits = wanted.clone().unwrap_or_default();
    let international = format!("0086{digits}");
    for (id, status, state, body) in
        store::orders_of_phone_digits(tx, [digits.as_str(), international.as_str()]).await?
    {
        let body: Value = serde_json::from_str(&body).unwrap_or_default();
        if phone_of(&body["customer"]).is_some() && phone_of(&body["customer"]) == wanted {
            orders.push(Match { id, status, state });
        }
    }
    let mut intakes = Vec::new();
    for (id, caller) in
        store::unlinked_intakes_of_phone_digits(tx, [digits.as_str(), international.as_str()])
            .await?
    {
        let caller: Value = serde_json::from_str(&caller).unwrap_or_default();
        if phone_of(&caller).is_some() && phone_of(&caller) == wanted {
            intakes.push(id);
        }
    }
    if orders.is_empty() && intakes.is_empty() {
        return Err(Failure::NotFound {
            what: NO_ORDER_FOR_PHONE,
            id: String::new(),
        });
    }
    Ok((orders, intakes))
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErasureOutcome {
    pub erasure_id: i64,
    pub requested_by: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub reason: String,
    /// The orders whose customer contact was erased now.
    pub assignments: Vec<String>,
    /// Desk intakes (without an order) whose caller was erased.
    pub intakes: Vec<String>,
    /// Technicians whose phones are told on their next sync.
    pub technicians: Vec<String>,
}

/// Erases a customer's contact on request, in the caller's transaction:
/// every stored copy of each finished order (an open one is refused: cancel
/// it first), an `erased` change for every technician who ever held it, and
/// the audit row (who, when, why, which orders).
pub async fn erase(
    tx: &mut dyn Tx,
    req: &ErasureRequest,
    by: &str,
    now: i64,
) -> Fallible<ErasureOutcome> {
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_CHARS {
        return Err(Failure::field(
            "reason",
            format!("expected why the data is erased (the customer's request), 1 to {REASON_CHARS} characters / 应填写删除原因（客户的请求），1 到 {REASON_CHARS} 个字符。"),
        ));
    }
    tx.lock(LockKey::Assignments).await?;
    let key = CustomerKey {
        phone: req.phone.clone(),
        assignment_id: req.assignment_id.clone(),
    };
    let (orders, intakes) = find(tx, &key).await?;
    let mut open = Vec::new();
    for o in &orders {
        let finished = o.status == AssignmentStatus::Done.as_str()
            || o.status == AssignmentStatus::Cancelled.as_str()
            || store::has_closed_visit(tx, &o.id).await?;
        if !finished {
            open.push(o.id.clone());
        }
    }
    if !open.is_empty() {
        return Err(Failure::conflict(
            "order_open",
            format!(
                "orders {} are still open: the technician needs the address. Cancel them first, then erase / 工单 {} 尚未结束，技师仍需要地址：请先取消，再删除。",
                open.join(", "),
                open.join("，")
            ),
        )
        .with("assignments", &open));
    }
    let due: Vec<&Match> = orders
        .iter()
        .filter(|o| o.state.erased_at.is_none())
        .collect();
    if due.is_empty() && intakes.is_empty() {
        return Err(Failure::conflict(
            "already_erased",
            "this customer's data was already erased; the audit lists when (GET /api/customers/erasures) / 该客户的数据已删除，删除记录见 GET /api/customers/erasures。",
        ));
    }
    let actor = format!("user:{by}");
    let mut technicians = Vec::new();
    for o in &due {
        rewrite_order(tx, &o.id, Rewrite::Erase).await?;
        store::mark_erased(tx, &o.id, now).await?;
        let version = store::version_of(tx, &o.id).await?;
        let change = ChangeKind::Erased {
            assignment_id: AssignmentId::new(&o.id)
                .map_err(|_| Failure::internal("reading an assignment id"))?,
            version: version.max(0) as u64,
        };
        let payload = serde_json::to_string(&change).map_err(|_| Failure::internal("encoding"))?;
        for t in store::holders_of(tx, &o.id).await? {
            store::append_erased_change(tx, &o.id, version, &t, &payload, now, &actor).await?;
            if !technicians.contains(&t) {
                technicians.push(t);
            }
        }
    }
    for id in &intakes {
        for mut doc in store::intake_documents(tx, id).await? {
            if rewrite_document(&mut doc, Rewrite::Erase)? {
                store::write_document(tx, &doc).await?;
            }
        }
    }
    let ids: Vec<String> = due.iter().map(|o| o.id.clone()).collect();
    let mut audited = ids.clone();
    audited.extend(intakes.iter().map(|i| format!("intake:{i}")));
    let erasure_id = store::insert_erasure(tx, by, now, reason, &audited).await?;
    Ok(ErasureOutcome {
        erasure_id,
        requested_by: by.to_string(),
        requested_at: from_ms(now),
        reason: reason.to_string(),
        assignments: ids,
        intakes,
        technicians,
    })
}

/// One customer's data for an access request: every matched order as
/// stored (customer, product, fault, window, items), its visits (times,
/// outcome, sign-off status), its intakes, and who viewed its contact. The
/// export itself is recorded in the access log (purpose `export`).
pub async fn export(tx: &mut dyn Tx, key: &CustomerKey, by: &str, now: i64) -> Fallible<Value> {
    let (orders, intakes) = find(tx, key).await?;
    let mut out = Vec::new();
    for o in &orders {
        let view = assignments::load_assignment(tx, &o.id).await?;
        let visit_rows = visits::list_visits(tx, None, Some(o.id.clone()), 100).await?;
        let order_intakes = store::intakes_for_export(tx, &o.id).await?;
        let accesses = store::access_log(tx, Some(o.id.clone()), None, 1000).await?;
        out.push(json!({
            "assignment": view,
            "contact_masked_at": o.state.masked_at.map(from_ms),
            "contact_erased_at": o.state.erased_at.map(from_ms),
            "visits": visit_rows,
            "intakes": order_intakes,
            "contact_access_log": accesses,
        }));
        store::record_access(tx, by, now, &o.id, "export").await?;
    }
    let mut desk = Vec::new();
    for id in &intakes {
        if let Some(i) = store::intake_for_export(tx, id).await? {
            desk.push(i);
        }
    }
    Ok(json!({
        "exported_at": from_ms(now),
        "exported_by": by,
        "orders": out,
        "intakes": desk,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_sent_about_the_customer_is_masked_once_sent() {
        let mut notice = json!({"moment": "done", "channel": "sms", "address": "+8613912345678",
                                "text": "您的服务已完成"});
        assert!(rewrite_sent(notice.as_object_mut().unwrap(), Rewrite::Mask));
        assert_eq!(notice["address"], "139****5678");
        assert_eq!(notice["text"], "您的服务已完成");
        let mut wechat = json!({"channel": "wechat", "address": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
        assert!(rewrite_sent(wechat.as_object_mut().unwrap(), Rewrite::Mask));
        assert!(wechat["address"].is_null());
        let mut bind = json!({"phone_a": "13912345678", "phone_b": "4008201234"});
        assert!(rewrite_sent(bind.as_object_mut().unwrap(), Rewrite::Erase));
        assert!(bind["phone_a"].is_null());
        assert_eq!(
            bind["phone_b"], "4008201234",
            "the technician's work phone stays"
        );
        let mut company =
            json!({"buyer_type": "company", "email": "fapiao@example.com", "phone": "13800138000"});
        assert!(!rewrite_sent(
            company.as_object_mut().unwrap(),
            Rewrite::Mask
        ));
        let mut person = json!({"buyer_type": "personal", "email": "xiuying.li@example.com", "phone": "13987654321"});
        assert!(rewrite_sent(person.as_object_mut().unwrap(), Rewrite::Mask));
        assert_eq!(person["email"], "x***@example.com");
        assert!(
            !rewrite_sent(person.as_object_mut().unwrap(), Rewrite::Mask),
            "masked once"
        );
    }

    #[test]
    fn a_personal_buyers_email_and_mobile_are_masked_a_companys_buyer_is_left_alone() {
        assert_eq!(mask_email("xiuying.li@example.com"), "x***@example.com");
        assert_eq!(mask_email("x***@example.com"), "x***@example.com");
        assert_eq!(mask_email("no address"), "***");
        let buyer = |kind: &str| {
            json!({"buyer_type": kind, "title": "李秀英", "email": "xiuying.li@example.com",
                   "phone": "13987654321", "tax_number": null})
        };
        let mut doc = json!({"type": "invoice_requested", "buyer": buyer("personal"),
                             "state": {"invoice_request": buyer("personal")}});
        assert!(rewrite_customers(&mut doc, Rewrite::Mask));
        for b in [&doc["buyer"], &doc["state"]["invoice_request"]] {
            assert_eq!(b["email"], "x***@example.com");
            assert_eq!(b["phone"], "139****4321");
            assert_eq!(b["title"], "李秀英");
        }
        assert!(!rewrite_customers(&mut doc, Rewrite::Mask), "masked once");
        assert!(rewrite_customers(&mut doc, Rewrite::Erase));
        assert!(doc["buyer"]["email"].is_null() && doc["buyer"]["phone"].is_null());
        let mut company = json!({"buyer": buyer("company")});
        assert!(!rewrite_customers(&mut company, Rewrite::Erase));
        assert_eq!(company["buyer"]["email"], "xiuying.li@example.com");
    }

    #[test]
    fn a_mobile_number_in_free_text_is_masked_or_removed_in_any_usual_form() {
        for (text, masked) in [
            (
                "备用电话13800139999，下午在家",
                "备用电话138****9999，下午在家",
            ),
            ("call 138 0013 9999 after 6", "call 138****9999 after 6"),
            ("儿子：+86 186-0021-3344。", "儿子：186****3344。"),
            (
                "two: 13800139999/15987654321",
                "two: 138****9999/159****4321",
            ),
        ] {
            assert_eq!(
                scrub_numbers(text, Rewrite::Mask).as_deref(),
                Some(masked),
                "{text}"
            );
        }
        assert_eq!(
            scrub_numbers("备用电话 138-0013-9999", Rewrite::Erase).as_deref(),
            Some("备用电话 ***")
        );
        // What is no mobile number is left (core::contact_text's tests).
        assert_eq!(scrub_numbers("A-20261203-0004", Rewrite::Erase), None);
    }

    #[test]
    fn an_orders_notes_are_scrubbed_with_its_contact_and_a_change_of_them_too() {
        let mut order = json!({
            "customer": {"name": "李秀英", "phone": "13912345678"},
            "notes": "备用电话 138 0013 9999",
            "fault_description": "冰箱不制冷，联系13700001111",
            "work": {"description": "换压缩机 13800139999"}
        });
        assert!(rewrite_customers(&mut order, Rewrite::Mask));
        assert_eq!(order["notes"], "备用电话 138****9999");
        assert_eq!(order["fault_description"], "冰箱不制冷，联系137****1111");
        assert_eq!(
            order["work"]["description"], "换压缩机 13800139999",
            "a fact of the visit (part of what the customer signed) is not the order's free text"
        );
        let mut change = json!({"changes": [
            {"field": "notes", "before": null, "after": "打 13800139999"},
            {"field": "priority", "before": "normal", "after": "13800139999"}
        ]});
        assert!(rewrite_customers(&mut change, Rewrite::Erase));
        assert_eq!(change["changes"][0]["after"], "打 ***");
        assert_eq!(change["changes"][1]["after"], "13800139999");
    }

    #[test]
    fn masking_keeps_the_surname_the_phone_ends_and_the_district() {
        assert_eq!(mask_name("王伟"), "王*");
        assert_eq!(mask_phone("138 1234 5678"), "138****5678");
        assert_eq!(mask_phone("110"), "****");
        assert_eq!(
            mask_address("上海市浦东新区世纪大道 100 号"),
            "上海市浦东新区***"
        );
        assert_eq!(mask_address("1 Test Rd"), "***");
        let masked = mask_phone("138 1234 5678");
        assert_eq!(mask_phone(&masked), masked, "masking twice changes nothing");
    }

    #[test]
    fn erasure_blanks_every_customer_object_and_keeps_the_rest() {
        let mut v = json!({"assignment": {"customer": {"name": "王伟", "phone": "13812345678",
            "address": "北京市朝阳区", "location": {"lat": 1.0, "lon": 2.0}, "time_zone": null},
            "product": {"model": "M"}}, "paid_total": 13500});
        assert!(rewrite_customers(&mut v, Rewrite::Erase));
        let c = &v["assignment"]["customer"];
        for f in ["name", "phone", "address", "location"] {
            assert!(c[f].is_null(), "{f}");
        }
        assert_eq!(v["paid_total"], 13500);
        assert_eq!(v["assignment"]["product"]["model"], "M");
        assert!(!rewrite_customers(&mut v, Rewrite::Erase));
    }

    #[test]
    fn a_phone_number_is_matched_without_spaces_or_the_country_code() {
        assert_eq!(
            normalize_phone("+86 138-1234-5678").as_deref(),
            Some("13812345678")
        );
        assert_eq!(
            normalize_phone("0086 13812345678").as_deref(),
            Some("13812345678")
        );
        assert_eq!(normalize_phone("12"), None);
        assert_eq!(normalize_phone("13912345x"), None);
    }
}
