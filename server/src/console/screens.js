// The dispatch desk's screens beside the board: editing a work order (with
// its change history, its discount approvals, 优惠审批, and its e-fapiao
// requests, 发票), the requests queue (counts on its tab) with each
// request's action, search and a customer's history, and the intake's
// repeat-caller warning. console.js hands over its helpers through install().

import * as admin from "/admin.js";
import { dateOf, wallTime } from "/console/day.js";

let c; // the console's helpers: { $, api, t, flash, time, cell, fill, button, loaders, show, lang, … }
let editing = null; // { assignment, request, back } while the order form is open

const fieldsOf = (detail) => (detail.fields || []).map((f) => c.t(f)).join(c.t(", "));

/** The text of a value in a history entry (a window, a place, a list …). */
function shown(field, v) {
  if (v == null || v === "" || (Array.isArray(v) && !v.length)) return "—";
  if (field === "requested_window") return c.windowText(v);
  if (field === "customer_location") return v.lat.toFixed(5) + ", " + v.lon.toFixed(5);
  if (field === "order") return v.map((l) => l.item + " × " + l.qty).join(c.t(", "));
  if (field === "priority") return c.t(String(v));
  if (field === "window_confirmed") return c.t(v ? "yes" : "no");
  if (field === "technician") return c.techName(v);
  if (field === "discount_approved") return v.map(yuan).join(c.t(", "));
  if (Array.isArray(v)) return v.map((x) => c.t(String(x))).join(c.t(", "));
  return String(v);
}

/** A discount approved at the desk, as its history entry reads: the limit of
 * each approval the version added ("at most ¥30.00 off"). */
function approvedText(ch) {
  const before = ch.before || [], after = ch.after || [];
  const added = after.slice(before.length);
  if (!added.length || before.some((x, i) => after[i] !== x)) {
    return c.t("{field}: {before} → {after}", { field: fieldName(ch.field), before: shown(ch.field, before), after: shown(ch.field, after) });
  }
  return added.map((fen) => c.t("at most {amount} off", { amount: yuan(fen) })).join(c.t(", "));
}

/** A history field's name ("technician" alone is the KPI table's "by technician"). */
const fieldName = (field) => c.t(field === "technician" ? "Technician" : field);

/** A window input's text for an instant: its wall-clock time in the business zone. */
function localInput(when) {
  return when ? wallTime(window.doorstepConsole.zone(), Date.parse(when)) : "";
}

// ---- work-order editing

/** Opens the order form for an assignment (and the request it answers). */
async function openOrder(id, request, back) {
  const a = await c.api("GET", "/api/assignments/" + encodeURIComponent(id));
  editing = { assignment: a, request, back };
  const f = c.$("#order-form"), cust = a.customer || {}, w = a.requested_window;
  f.elements.name.value = cust.name || "";
  f.elements.phone.value = cust.phone || "";
  f.elements.address.value = cust.address || "";
  f.elements.lat.value = cust.location ? cust.location.lat : "";
  f.elements.lon.value = cust.location ? cust.location.lon : "";
  f.elements.model.value = (a.product || {}).model || "";
  f.elements.priority.value = a.priority;
  f.elements.start.value = w ? localInput(w.start) : "";
  f.elements.end.value = w ? localInput(w.end) : "";
  f.elements.fault.value = a.fault_description || "";
  f.elements.notes.value = a.notes || "";
  orderTitle();
  const req = c.$("#order-request");
  req.hidden = !request;
  // A verification request's fields may be waived rather than corrected (STANDARDS §2.1).
  c.$("#order-waive-line").hidden = !(request && request.kind === "center_verification_requested"
    && (request.detail.fields || []).length);
  if (request) {
    c.$("#order-request-text").textContent = c.t("{tech} asks to verify: {fields}", { tech: request.technician_name || request.technician_id, fields: fieldsOf(request.detail) }) +
      (request.detail.note ? c.t(" (“{note}”)", { note: request.detail.note }) : "");
  }
  clearInvoiceErrors(c.$("#invoice-form"));
  resetDiscounts();
  c.show("order"); // its loader reads the history and the rest
  f.elements.name.focus();
}

/** The page's heading: the work order and its customer, in the chosen language. */
function orderTitle() {
  const a = editing.assignment;
  c.$("#order-title").textContent = c.t("Work order {id}", { id: a.id }) + " · " + ((a.customer || {}).name || "");
}

async function orderHistory(id) {
  const entries = await c.api("GET", `/api/assignments/${encodeURIComponent(id)}/history`);
  const list = c.$("#order-history");
  list.replaceChildren();
  for (const e of entries.slice().reverse()) {
    const li = document.createElement("li");
    const who = e.actor.replace(/^(user|device):/, "");
    const what = e.changes.map((ch) => ch.field === "discount_approved" ? approvedText(ch) : c.t("{field}: {before} → {after}",
      { field: fieldName(ch.field), before: shown(ch.field, ch.before), after: shown(ch.field, ch.after) }));
    li.textContent = c.t("{when}, {who}, version {v}: {action}", { when: c.time(e, "at"), who, v: e.version, action: c.t(e.action) }) +
      (what.length ? c.t(" — ") + what.join(c.t("; ")) : "");
    list.appendChild(li);
  }
}

// ---- the work order's discount approvals (优惠审批; STANDARDS §2.12:
// "discounts only with a center approval"): the approvals the order
// carries, the form approving one online (the order's next version takes it
// to the technician's phone), and the short codes the desk reads out by
// phone to a technician whose phone cannot sync, one per phone. Closed, and
// saying why, on a done or cancelled order. A refusal stands beside the
// field or the form it concerns; what was typed stays.

const DISCOUNT_MAX_FEN = 100000000; // ¥1,000,000: the server's bound on an amount
/** What each amount field accepts, naming the field (the typed text refused here, or by the server). */
const DISCOUNT_REFUSAL = {
  max_amount: "Discount limit: give it in yuan, from 0.01 to 1,000,000, e.g. 30 or 30.50",
  amount: "Discount: give the exact discount in yuan, from 0.01 to 1,000,000, e.g. 12.50",
};
/** Each form and the amount field it sends (a refusal naming no field goes to the form's `…-error` line). */
const DISCOUNT_FORMS = { "discount-approve-form": "max_amount", "discount-code-form": "amount" };
let codesShown = null; // the last short codes asked for (the server's answer), shown with their order
let discountLang = null; // the language the panel's refusals were written in

/** Fen as yuan: 3000 → ¥30.00 (as the invoices show amounts). */
function yuan(fen) {
  return "¥" + (Number(fen) / 100).toFixed(2);
}

/** Typed yuan ("30", "30.5", "1,234.50", as the cash tab reads them) as fen, or null. */
function fenOfYuan(text) {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(text).trim().replace(/[,，]/g, ""));
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
}

function clearDiscountErrors(form) {
  const field = DISCOUNT_FORMS[form.id];
  c.$("#discount-error-" + field).textContent = "";
  form.elements[field].removeAttribute("aria-invalid");
  c.$("#" + form.id.replace(/-form$/, "-error")).textContent = "";
}

/** A new order on the page: empty forms, no refusal, no code of another order. */
function resetDiscounts() {
  codesShown = null;
  for (const id of Object.keys(DISCOUNT_FORMS)) {
    const form = c.$("#" + id);
    form.reset();
    clearDiscountErrors(form);
  }
}

/** The typed amount refused, beside its field, in the console's words. */
function refuseAmount(form) {
  const field = DISCOUNT_FORMS[form.id];
  c.$("#discount-error-" + field).textContent = c.t(DISCOUNT_REFUSAL[field]);
  form.elements[field].setAttribute("aria-invalid", "true");
  form.elements[field].focus();
  c.flash("");
}

/** The amount typed in a form, in fen, or null once refused. */
function typedAmount(form) {
  const fen = fenOfYuan(form.elements[DISCOUNT_FORMS[form.id]].value);
  if (fen == null || fen < 1 || fen > DISCOUNT_MAX_FEN) { refuseAmount(form); return null; }
  return fen;
}

/** The server's refusal: a refused amount beside its field, any other under the form (in the dispatcher's language). */
function discountRefused(form, e) {
  if (e.code === "invalid_field" && e.field === DISCOUNT_FORMS[form.id]) { refuseAmount(form); return; }
  c.$("#" + form.id.replace(/-form$/, "-error")).textContent = e.message;
  c.flash("");
}

/** Sends a form's request once: its button waits for the answer (no approval or code twice by a double click). */
async function sending(form, request) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try { return await request(); } finally { button.disabled = false; }
}

/** The short codes on screen: each big, in two groups of four digits, with its phone. */
function showCodes() {
  const box = c.$("#discount-codes");
  const codes = codesShown && editing && codesShown.assignment_id === editing.assignment.id ? codesShown : null;
  box.replaceChildren();
  box.hidden = !codes;
  if (!codes) return;
  const title = document.createElement("p");
  title.id = "discount-codes-title";
  // A code depends on the order and the amount only: it has no time to show.
  title.textContent = c.t("Short codes for {tech}: work order {id}, {amount} off", {
    tech: c.techName(codes.technician_id), id: codes.assignment_id, amount: yuan(codes.amount),
  });
  const list = document.createElement("ul");
  for (const x of codes.codes) {
    const li = document.createElement("li");
    li.dataset.device = x.device_id;
    const phone = document.createElement("span");
    phone.className = "device";
    phone.textContent = c.t("Phone {device}", { device: x.device_id });
    const code = document.createElement("strong");
    code.className = "code";
    code.dataset.code = x.code;
    code.textContent = x.code.slice(0, 4) + " " + x.code.slice(4);
    li.append(phone, " ", code);
    list.appendChild(li);
  }
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = c.t("Read it out to the technician by phone; it is valid only for this work order and this amount");
  box.append(title, list, hint);
}

/**
 * The panel as the order stands now (read again, its times in the chosen
 * language): its approvals, and the forms or why they are closed. The form
 * above keeps the version it shows, which an approval is sent against.
 */
async function discountPanel() {
  const id = editing.assignment.id;
  const a = await c.api("GET", "/api/assignments/" + encodeURIComponent(id));
  if (!editing || editing.assignment.id !== id) return; // another order was opened meanwhile
  if (discountLang !== c.lang()) {
    // A refusal reads in the language chosen since (what was typed stays).
    discountLang = c.lang();
    for (const form of Object.keys(DISCOUNT_FORMS)) clearDiscountErrors(c.$("#" + form));
  }
  const list = c.$("#order-discounts");
  list.replaceChildren();
  for (const d of a.discount_approvals || []) {
    const li = document.createElement("li");
    li.dataset.reference = d.reference;
    li.textContent = c.t("{reference}: at most {amount} off, approved by {who}, {when}",
      { reference: d.reference, amount: yuan(d.max_amount), who: d.approver, when: c.time(d, "at") });
    list.appendChild(li);
  }
  if (!list.children.length) {
    const li = document.createElement("li");
    li.textContent = c.t("no discount approved for this order");
    list.appendChild(li);
  }
  const closed = a.status === "done" ? "This work order is done: no discount can be approved any more"
    : a.status === "cancelled" ? "This work order is cancelled: no discount can be approved" : null;
  const why = c.$("#discount-closed");
  why.textContent = closed ? c.t(closed) : "";
  why.hidden = !closed;
  c.$("#discount-forms").hidden = Boolean(closed);
  // Short codes are made with the technician's phones' secrets: none before the order has a technician.
  const unassigned = !a.technician;
  const note = c.$("#discount-code-note");
  note.textContent = unassigned ? c.t("Short codes are made for the technician's phones: assign the work order first") : "";
  note.hidden = !unassigned;
  for (const el of c.$("#discount-code-form").elements) el.disabled = unassigned;
  showCodes();
}

async function approveDiscount(ev) {
  ev.preventDefault();
  const form = ev.target, a = editing && editing.assignment;
  if (!a) return;
  clearDiscountErrors(form);
  const max = typedAmount(form);
  if (max == null) return;
  let saved;
  try {
    saved = await sending(form, () => c.api("POST", `/api/assignments/${encodeURIComponent(a.id)}/discount-approvals`,
      { max_amount: max, expected_version: a.version }));
  } catch (e) { discountRefused(form, e); return; }
  // The order's next version: the form's unsaved edits stay and save against it.
  if (editing && editing.assignment.id === a.id) editing.assignment = saved;
  form.reset();
  c.flash(c.t("{id}: a discount of at most {amount} is approved; the technician's phone gets it at its next sync",
    { id: a.id, amount: yuan(max) }));
  await Promise.all([discountPanel(), orderHistory(a.id)]);
}

async function askDiscountCodes(ev) {
  ev.preventDefault();
  const form = ev.target, a = editing && editing.assignment;
  if (!a) return;
  clearDiscountErrors(form);
  const amount = typedAmount(form);
  if (amount == null) return;
  try {
    codesShown = await sending(form, () => c.api("POST", `/api/assignments/${encodeURIComponent(a.id)}/discount-codes`, { amount }));
  } catch (e) { discountRefused(form, e); return; }
  form.reset();
  c.flash("");
  showCodes();
}

// ---- what was sent about the work order: its acceptance code (never the
// code), its privacy numbers, the customer notices and the webhooks, each
// with its state; a dead letter is sent again from here.

/** A line of the outbound list, with a "Send again" button for a dead letter. */
function outboundLine(list, text, message, id) {
  const li = document.createElement("li");
  li.textContent = text;
  if (message) li.dataset.state = message.state;
  if (message && message.state === "dead") {
    const again = document.createElement("button");
    again.type = "button";
    again.textContent = c.t("Send again");
    again.addEventListener("click", async () => {
      again.disabled = true;
      try {
        await c.api("POST", `/api/outbox/${encodeURIComponent(message.id)}/retry`);
        c.flash(c.t("queued to send again"));
      } catch (e) {
        c.flash(e.message, true);
      }
      await orderOutbound(id);
    });
    li.append(" ", again);
  }
  list.appendChild(li);
}

/** The words for an outbox state, a privacy-number binding's state, a notice's moment and the center's check. */
const SENT = { pending: "waiting to be sent", sending: "being sent", delivered: "delivered", dead: "not delivered" };
const BOUND = { binding: "being bound", bound: "bound", unbinding: "being released", unbound: "released", failed: "binding failed" };
const MOMENT = { appointment_confirmed: "appointment confirmed", on_the_way: "on the way", done: "service done",
  callback: "callback", acceptance_code: "acceptance code" };
const CHECKED = { accepted: "the center found the code right", wrong: "the center found the code wrong: follow it up" };
const word = (table, code) => c.t(table[code] || code);

/** How often it was tried, and the last error while it is not delivered
 * (the worker's notes are English: in Chinese only a provider's Chinese cause is shown). */
function attempts(m) {
  const tried = c.t("{n} attempts", { n: m.attempts });
  const error = m.state === "delivered" ? "" : String(m.last_error || "");
  if (!error || (c.lang() === "zh" && !/[\u4e00-\u9fff]/.test(error))) return tried;
  return tried + c.t("; ") + c.t("last error: {error}", { error });
}

/** "Issue a new code": the customer lost the code or never received it; the
 * new one reaches the phone with the order's next version and the customer by SMS. */
function reissueButton(id) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = c.t("Issue a new code");
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await c.api("POST", `/api/assignments/${encodeURIComponent(id)}/acceptance-code/reissue`);
      c.flash(c.t("a new acceptance code was issued: it is sent to the customer, and the technician's phone checks only the new one"));
    } catch (e) {
      c.flash(e.message, true);
    }
    await Promise.all([orderOutbound(id), orderHistory(id)]);
  });
  return b;
}

async function orderOutbound(id) {
  const key = encodeURIComponent(id);
  const [out, bindings] = await Promise.all([
    c.api("GET", `/api/assignments/${key}/outbound`),
    c.api("GET", `/api/assignments/${key}/privacy-numbers`),
  ]);
  const list = c.$("#order-outbound");
  list.replaceChildren();
  const code = out.acceptance_code;
  if (code) {
    outboundLine(list, c.t("Acceptance code issued {when}", { when: c.time(code, "issued_at") }) +
      (code.center_result ? c.t(" — ") + word(CHECKED, code.center_result) : ""));
    if (code.center_result !== "accepted") list.lastChild.append(" ", reissueButton(id));
  }
  for (const b of bindings) {
    outboundLine(list, c.t("Privacy number {number}: {state}", { number: b.virtual_number || "—", state: word(BOUND, b.state) }) +
      (b.failure_reason ? c.t(" ({note})", { note: b.failure_reason }) : ""));
  }
  for (const m of out.notices) {
    outboundLine(list, c.t("Notice “{moment}” by {channel}: {state}", {
      moment: word(MOMENT, m.payload.moment), channel: c.t(m.target), state: word(SENT, m.state),
    }) + c.t(" ({note})", { note: attempts(m) }), m, id);
  }
  for (const m of out.webhooks) {
    outboundLine(list, c.t("Webhook {endpoint}: {state}", { endpoint: m.target, state: word(SENT, m.state) }) +
      c.t(" ({note})", { note: attempts(m) }), m, id);
  }
  if (!list.children.length) outboundLine(list, c.t("nothing sent about this order yet"));
}

// ---- the work order's QR payments (扫码收款): provider, amount (formatted
// by the server), state, paid time and the provider's transaction number.

let paymentPoll = null; // the next look while an order waits for the customer

async function orderPayments(id) {
  clearTimeout(paymentPoll);
  const rows = await c.api("GET", `/api/assignments/${encodeURIComponent(id)}/qr-payments`);
  if (rows.some((r) => r.state === "creating" || r.state === "awaiting_payment")) {
    paymentPoll = setTimeout(() => {
      if (c.current() === "order" && editing && editing.assignment.id === id) orderPayments(id).catch(() => {});
    }, 2000);
  }
  const list = c.$("#order-payments");
  list.replaceChildren();
  const label = (l) => (l ? (c.lang() === "zh" ? l.zh : l.en) : "");
  for (const r of rows) {
    const li = document.createElement("li");
    li.dataset.state = r.state;
    const parts = [label(r.provider_name), r.amount_shown, r.out_trade_no];
    li.appendChild(document.createTextNode(parts.join(" · ") + c.t(" — ")));
    const state = document.createElement("span");
    state.className = r.state;
    let text = label(r.state_label);
    if (r.state === "paid") {
      text += c.t(" ({note})", { note: c.t("at {when}, transaction {number}", { when: c.time(r, "paid_at"), number: r.provider_transaction_id }) });
    } else if (r.failure) {
      text += c.t(" ({note})", { note: label(r.failure) });
    }
    state.textContent = text;
    li.appendChild(state);
    list.appendChild(li);
  }
  if (!rows.length) {
    const li = document.createElement("li");
    li.textContent = c.t("no QR payment for this order");
    list.appendChild(li);
  }
}

// ---- the work order's e-fapiao requests (发票): each with its state, and
// the form to request one; a refusal stands next to the field it names.

const INVOICE_FIELDS = ["buyer_type", "title", "tax_number", "email", "phone"];

/** A request's state as the dispatcher reads it. */
function invoiceState(r) {
  if (r.state === "requested") return c.t("requested: waiting for the payment");
  if (r.state === "queued") return c.t(r.provider_serial ? "being issued by the invoicing platform" : "queued to the invoicing platform");
  if (r.state === "issued") return c.t("issued, invoice number {number}", { number: r.invoice_number });
  // The provider's own cause is Chinese; the worker's notes are English.
  const cause = String(r.failure_reason || "").split(": ").pop();
  if (c.lang() === "zh" && !/[\u4e00-\u9fff]/.test(cause)) return c.t("not issued: retry it from the outbox's dead letters");
  return c.t("not issued: {reason}", { reason: cause || "—" });
}

let invoicePoll = null; // the next look while a request is on its way

async function orderInvoices(id) {
  clearTimeout(invoicePoll);
  const rows = await c.api("GET", `/api/assignments/${encodeURIComponent(id)}/invoice-requests`);
  // The provider answers later: look again while a request is on its way
  // and this order is still shown.
  if (rows.some((r) => r.state === "requested" || r.state === "queued")) {
    invoicePoll = setTimeout(() => {
      if (c.current() === "order" && editing && editing.assignment.id === id) orderInvoices(id).catch(() => {});
    }, 2000);
  }
  const list = c.$("#order-invoices");
  list.replaceChildren();
  for (const r of rows) {
    const li = document.createElement("li");
    li.dataset.state = r.state;
    const parts = [c.time(r, "requested_at"), c.t(r.buyer_type), r.title, r.tax_number,
      r.amount != null && "¥" + (r.amount / 100).toFixed(2)].filter(Boolean);
    li.appendChild(document.createTextNode(parts.join(" · ") + c.t(" — ")));
    const state = document.createElement("span");
    state.className = r.state;
    state.textContent = invoiceState(r);
    li.appendChild(state);
    list.appendChild(li);
  }
  if (!rows.length) {
    const li = document.createElement("li");
    li.textContent = c.t("no invoice requested");
    list.appendChild(li);
  }
}

function clearInvoiceErrors(form) {
  for (const f of INVOICE_FIELDS) {
    c.$("#invoice-error-" + f).textContent = "";
    form.elements[f].removeAttribute("aria-invalid");
  }
}

async function requestInvoice(ev) {
  ev.preventDefault();
  const form = ev.target, id = editing && editing.assignment.id;
  if (!id) return;
  clearInvoiceErrors(form);
  const f = new FormData(form);
  const text = (k) => (f.get(k) || "").trim() || null;
  const body = { buyer_type: text("buyer_type"), title: text("title") || "", tax_number: text("tax_number"),
    email: text("email"), phone: text("phone") };
  try {
    await c.api("POST", `/api/assignments/${encodeURIComponent(id)}/invoice-requests`, body);
    form.reset();
    c.flash(c.t("invoice requested for {id}", { id }));
  } catch (e) {
    if (e.code === "invalid_field" && INVOICE_FIELDS.includes(e.field)) {
      c.$("#invoice-error-" + e.field).textContent = e.message;
      form.elements[e.field].setAttribute("aria-invalid", "true");
      form.elements[e.field].focus();
      c.flash("");
    } else c.flash(e.message, true);
    return;
  }
  await orderInvoices(id);
}

/** The PATCH of what the form changed (nothing for an untouched field). */
function patchOf(form, a) {
  const f = new FormData(form), cust = a.customer || {};
  const text = (k) => (f.get(k) || "").trim();
  const patch = { expected_version: a.version };
  const lat = text("lat"), lon = text("lon");
  const location = lat && lon ? { lat: Number(lat), lon: Number(lon) } : null;
  const customer = Object.assign({}, cust, {
    name: text("name") || null, phone: text("phone") || null, address: text("address") || null, location,
  });
  const same = (x, y) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  if (!same(customer.name, cust.name) || !same(customer.phone, cust.phone) || !same(customer.address, cust.address)
    || !same(customer.location, cust.location)) patch.customer = customer;
  if (text("model") !== ((a.product || {}).model || "")) patch.product = Object.assign({}, a.product, { model: text("model") || null });
  if (text("fault") !== (a.fault_description || "")) patch.fault_description = text("fault");
  if (text("notes") !== (a.notes || "")) patch.notes = text("notes");
  if (text("priority") && text("priority") !== a.priority) patch.priority = text("priority");
  const w = a.requested_window;
  if (text("start") !== localInput(w && w.start) || text("end") !== localInput(w && w.end)) {
    const requested = c.windowOf(text("start"), text("end"));
    if (requested.refused) return { refused: requested.refused };
    if (requested.value) patch.requested_window = requested.value;
  }
  return patch;
}

async function saveOrder(ev) {
  ev.preventDefault();
  const { assignment: a, request } = editing;
  const patch = patchOf(ev.target, a);
  if (patch.refused) { c.flash(patch.refused, true); return; }
  const changed = Object.keys(patch).length > 1;
  if (!changed && !request) { c.flash(c.t("nothing changed")); return; }
  try {
    const saved = changed ? await c.api("PATCH", "/api/assignments/" + encodeURIComponent(a.id), patch) : a;
    if (request) {
      await c.api("POST", `/api/requests/${encodeURIComponent(request.id)}/handle`,
        { answer: changed ? "fields updated: " + Object.keys(patch).filter((k) => k !== "expected_version").join(", ") : "confirmed as it stands" });
    }
    editing = Object.assign(editing, { assignment: saved, request: null });
    c.$("#order-request").hidden = true;
    c.flash(request ? c.t("{id} saved; the technician's phone gets it at its next sync", { id: a.id }) : c.t("{id} saved", { id: a.id }));
    await orderHistory(a.id);
    refreshCount();
  } catch (e) { c.flash(e.message, true); }
}

/** The desk waives the fields a technician asked to verify; the phone gets the waiver at its next sync. */
async function waiveFields() {
  const { assignment: a, request } = editing;
  if (!request) return;
  try {
    const saved = await c.api("POST", `/api/assignments/${encodeURIComponent(a.id)}/waive-fields`,
      { fields: request.detail.fields, request_id: request.id, expected_version: a.version });
    editing = Object.assign(editing, { assignment: saved, request: null });
    c.$("#order-request").hidden = true;
    c.flash(c.t("{fields} waived for {id}; the technician's phone gets it at its next sync",
      { fields: fieldsOf(request.detail), id: a.id }));
    await orderHistory(a.id);
    refreshCount();
  } catch (e) { c.flash(e.message, true); }
}

// ---- requests queue

const ACTION_OF = {
  center_verification_requested: "Answer",
  conflict: "Decide",
};

async function refreshCount() {
  try {
    const q = await c.api("GET", "/api/requests");
    c.$("#queue-count").textContent = q.total ? c.t("({n})", { n: q.total }) : "";
    return q;
  } catch (e) { return null; }
}

async function loadQueue() {
  const q = await refreshCount();
  if (!q) return;
  const parts = Object.entries(q.counts).map(([k, n]) => c.t(k) + " " + n);
  c.$("#queue-summary").textContent = q.total ? parts.join(c.t(", ")) : c.t("nothing waits for the desk");
  c.fill("queue", q.items, (tr, r) => {
    c.cell(tr, c.t(r.kind)); c.cell(tr, r.customer_name || "—"); c.cell(tr, r.technician_name || r.technician_id);
    c.cell(tr, c.time(r, "at"));
    const d = r.detail || {};
    c.cell(tr, [fieldsOf(d), d.conflict && c.t(d.conflict), d.note, d.reason, d.description,
      d.kind && c.t(d.kind), d.approved_by && c.t("approved by {who}", { who: d.approved_by }),
      d.moment && c.t(d.moment), d.channel && c.t("by {channel}, {n} attempts", { channel: c.t(d.channel), n: d.attempts }),
      d.fact_label && (c.lang() === "zh" ? d.fact_label.zh : d.fact_label.en),
      d.code_label && (c.lang() === "zh" ? d.code_label.zh : d.code_label.en),
      d.amount_shown && c.t("owes {amount}", { amount: d.amount_shown })]
      .filter(Boolean).join(c.t("; ")) || "—");
    const actions = document.createElement("span");
    if (r.kind === "conflict") actions.appendChild(c.button("Decide", () => c.show("conflicts")));
    else if (r.kind === "fact_refused") {
      actions.appendChild(c.button("Open work order", () => openOrder(r.assignment_id, null, "queue")));
      actions.appendChild(c.button("Mark reviewed", async () => {
        await c.api("POST", `/api/refused-events/${encodeURIComponent(d.device_id)}/${d.seq}/review`, {});
        c.flash(c.t("refusal reviewed")); loadQueue();
      }));
    } else if (r.kind === "notice_undelivered") {
      actions.appendChild(c.button("Open work order", () => openOrder(r.assignment_id, null, "queue")));
      actions.appendChild(c.button("Send again", async () => {
        await c.api("POST", `/api/outbox/${encodeURIComponent(r.id)}/retry`, {});
        c.flash(c.t("notice queued to send again")); loadQueue();
      }));
    }
    else if (ACTION_OF[r.kind]) actions.appendChild(c.button(ACTION_OF[r.kind], () => openOrder(r.assignment_id, r, "queue")));
    else {
      actions.appendChild(c.button("Open work order", () => openOrder(r.assignment_id, null, "queue")));
      actions.appendChild(c.button("Mark handled", async () => {
        await c.api("POST", `/api/requests/${encodeURIComponent(r.id)}/handle`, {});
        c.flash(c.t("request handled")); loadQueue();
      }));
    }
    c.cell(tr, actions);
  });
}

// ---- search and a customer's history

function showFound(rows, summary) {
  c.$("#search-summary").textContent = summary;
  c.fill("search", rows, (tr, a) => {
    const cust = a.customer || {};
    c.cell(tr, a.id); c.cell(tr, cust.name || "—"); c.cell(tr, cust.phone || "—"); c.cell(tr, cust.address || "—");
    c.cell(tr, c.t(a.trade)); c.cell(tr, c.t(a.status));
    const stage = (v) => v.stage_label ? (c.lang() === "zh" ? v.stage_label.zh : v.stage_label.en.toLowerCase()) : c.t(v.stage);
    c.cell(tr, a.visits.map((v) => stage(v) + (v.closed_at ? " " + c.time(v, "closed_at") : "")).join(c.t("; ")) || "—");
    const actions = document.createElement("span");
    actions.appendChild(c.button("Edit", () => openOrder(a.id, null, "search")));
    if (cust.phone) actions.appendChild(c.button("Customer history", () => customerHistory(cust.phone, cust.name)));
    c.cell(tr, actions);
  });
}

async function search(ev) {
  ev.preventDefault();
  const q = c.$("#search-q").value.trim();
  if (!q) return;
  try {
    const rows = await c.api("GET", "/api/search?q=" + encodeURIComponent(q));
    showFound(rows, c.t("{n} work orders match “{q}”", { n: rows.length, q }));
  } catch (e) { c.flash(e.message, true); }
}

async function customerHistory(phone, name) {
  const rows = await c.api("GET", "/api/customers/history?phone=" + encodeURIComponent(phone));
  c.show("search");
  showFound(rows, c.t("History of {name}: {n} work orders", { name: name || phone, n: rows.length }));
}

// ---- the intake's repeat warning (来电弹屏)

let repeatAsked = 0; // the latest check wins, whatever order the answers come in

async function repeatCheck() {
  const asked = ++repeatAsked;
  const phone = c.$("#intake-phone").value.trim(), model = c.$("#intake-model").value.trim();
  const box = c.$("#repeat-warning");
  if (phone.replace(/\D/g, "").length < 4) { box.hidden = true; return; }
  try {
    const w = await c.api("GET", "/api/intakes/repeat-check?phone=" + encodeURIComponent(phone) +
      (model ? "&model=" + encodeURIComponent(model) : ""));
    if (asked !== repeatAsked) return;
    const lines = [];
    if (w.repeat_repair.length) {
      lines.push(c.t("Repeat repair: {model} was repaired for this caller within 30 days ({ids})",
        { model, ids: w.repeat_repair.map((a) => a.id).join(c.t(", ")) }));
    }
    if (w.repeat_caller.length) {
      lines.push(c.t("Repeat caller: {n} work orders in the last 30 days, latest {id} ({status})",
        { n: w.repeat_caller.length, id: w.repeat_caller[0].id, status: c.t(w.repeat_caller[0].status) }));
    }
    box.textContent = lines.join("\n");
    box.hidden = !lines.length;
  } catch (e) { box.hidden = true; }
}

// ---- export of every table (CSV and Excel, made by the server)

/** A table as shown: headers and cell texts, without the columns of buttons. */
function tableData(table) {
  const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  const rows = [...table.tBodies[0].rows].filter((tr) => !(tr.cells.length === 1 && tr.cells[0].colSpan > 1))
    .map((tr) => [...tr.cells].map((td) => td));
  // A column of actions holds buttons and nothing else (some rows may have none).
  const onlyButtons = (td) => !td || [...td.querySelectorAll("button")].map((b) => b.textContent).join("") === td.textContent;
  const actions = headers.map((_, i) => rows.some((r) => r[i] && r[i].querySelector("button")) && rows.every((r) => onlyButtons(r[i])));
  const keep = (cells) => cells.filter((_, i) => !actions[i]);
  return { headers: keep(headers), rows: rows.map((r) => keep(r).map((td) => td.textContent.trim())) };
}

async function exportTable(table, format) {
  const section = table.closest("[data-view]");
  const heading = section.querySelector("h2");
  const title = (heading.firstChild && heading.firstChild.textContent.trim() || table.id) + " " + dateOf(window.doorstepConsole.zone(), Date.now());
  const res = await fetch("/api/export?format=" + format, {
    method: "POST",
    headers: { "content-type": "application/json", "accept-language": c.lang() === "zh" ? "zh-CN" : "en",
      authorization: "Bearer " + sessionStorage.getItem("doorstep.token") },
    body: JSON.stringify(Object.assign({ title }, tableData(table))),
  });
  if (!res.ok) {
    const data = await res.json().catch(() => null);
    throw new Error((data && data.error && data.error.message) || res.statusText);
  }
  const named = /filename\*=UTF-8''([^;]+)/.exec(res.headers.get("content-disposition") || "");
  const name = named ? decodeURIComponent(named[1]) : "export." + format;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await res.blob());
  a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  c.flash(c.t("{name} downloaded", { name }));
}

/** CSV and Excel buttons under the heading of every table's screen. */
function addExportButtons() {
  for (const table of document.querySelectorAll("[data-view] > table[id]")) {
    const bar = document.createElement("div");
    bar.className = "export";
    // English first: the console's page translation turns fixed text into the chosen language.
    for (const [label, format] of [["Export CSV", "csv"], ["Export Excel", "xlsx"]]) {
      const b = c.button(label, () => exportTable(table, format));
      b.textContent = label;
      bar.appendChild(b);
    }
    table.before(bar);
  }
}

/** Gives the console the desk's screens. */
export function install(helpers) {
  c = helpers;
  c.loaders.queue = loadQueue;
  c.loaders.search = async () => {};
  // The order's history, discount approvals, invoices, payments and what was sent about it follow the language and every live change.
  c.loaders.order = async () => {
    if (!editing) return;
    orderTitle();
    await Promise.all([discountPanel(), orderHistory(editing.assignment.id), orderInvoices(editing.assignment.id),
      orderOutbound(editing.assignment.id), orderPayments(editing.assignment.id)]);
  };
  // The queue's count follows the board (shown first, refreshed with it).
  const board = c.loaders.board;
  c.loaders.board = async () => { await board(); refreshCount(); };
  // Live: the count follows every change; the queue itself when shown.
  c.onLive(async (tab) => { if (tab === "queue") await loadQueue(); else await refreshCount(); });
  c.$("#order-form").addEventListener("submit", saveOrder);
  c.$("#order-waive").addEventListener("click", waiveFields);
  c.$("#invoice-form").addEventListener("submit", requestInvoice);
  c.$("#discount-approve-form").addEventListener("submit", approveDiscount);
  c.$("#discount-code-form").addEventListener("submit", askDiscountCodes);
  c.$("#order-close").addEventListener("click", () => c.show((editing && editing.back) || "board"));
  c.$("#search-form").addEventListener("submit", search);
  c.$("#intake-phone").addEventListener("change", repeatCheck);
  c.$("#intake-model").addEventListener("change", repeatCheck);
  addExportButtons();
  admin.install(helpers);
}

/** The board row's extra action: edit the work order. */
export function boardActions(actions, a) {
  if (a.status !== "cancelled" && a.status !== "done") actions.appendChild(c.button("Edit", () => openOrder(a.id, null, "board")));
}
