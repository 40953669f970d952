// The engineers' cash (现金): per technician per business day, the cash
// collected at the door, remitted to the desk and still outstanding in the
// technician's hands (GET /api/cash-ledger), the form to record a
// remittance (POST /api/technicians/{id}/remittances), and voiding one
// entered wrongly, with a reason (…/remittances/{remittance}/void: it stays
// listed, struck through, and counts no more); the server's refusal stands
// next to the field it names, in the console's language.
import { dateOf } from "./day.js";

const C = window.doorstepConsole;
const $ = (sel, root = document) => root.querySelector(sel);
const FIELDS = ["technician", "amount", "note"];

/** Typed yuan ("120", "120.5", "1,234.50") as fen, or null. */
export function fenOf(text) {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(text).trim().replace(/[,，]/g, ""));
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
}

function cell(tr, value) {
  const td = document.createElement("td");
  td.textContent = value == null ? "" : String(value);
  tr.appendChild(td);
  return td;
}

let technicians = [];

async function load() {
  const today = dateOf(C.zone(), Date.now());
  const from = $("#cash-from"), to = $("#cash-to");
  if (!to.value) to.value = today;
  if (!from.value) from.value = to.value;
  const [ledger, roster] = await Promise.all([
    C.api("GET", `/api/cash-ledger?from=${from.value}&to=${to.value}`),
    C.api("GET", "/api/technicians"),
  ]);
  technicians = roster;
  const select = $("#remit-form").elements.technician;
  const chosen = select.value;
  select.replaceChildren(new Option(C.t("choose a technician"), ""));
  for (const x of roster) select.appendChild(new Option(x.name, x.id));
  select.value = roster.some((x) => x.id === chosen) ? chosen : "";

  const tt = ledger.totals;
  $("#cash-summary").textContent = C.t("{from} – {to}: collected {collected}, remitted {remitted}, outstanding {outstanding}",
    { from: ledger.from, to: ledger.to, collected: tt.shown.collected, remitted: tt.shown.remitted, outstanding: tt.shown.outstanding });
  const body = $("#cash tbody");
  body.replaceChildren();
  const name = (id, known) => known || (technicians.find((x) => x.id === id) || {}).name || id;
  for (const d of ledger.days) {
    const tr = document.createElement("tr");
    tr.dataset.technician = d.technician_id;
    tr.dataset.day = d.business_day;
    cell(tr, d.business_day);
    const who = cell(tr, name(d.technician_id, d.technician_name));
    who.className = "person"; who.title = d.technician_id;
    // Money as the server's core formats it (d.shown): the console formats none.
    cell(tr, d.shown.collected); cell(tr, d.shown.remitted);
    const out = cell(tr, d.shown.outstanding);
    out.className = d.outstanding > 0 ? "outstanding" : "";
    const payments = d.payments.map((p) => C.t("{order} {amount} (receipt {receipt})",
      { order: p.assignment_id, amount: p.amount_shown, receipt: p.receipt || "—" }));
    const details = cell(tr, payments.join(C.t("; ")) || (d.remittances.length ? "" : "—"));
    if (d.remittances.length) {
      const list = document.createElement("ul");
      list.className = "remittances";
      for (const r of d.remittances) list.appendChild(remittanceItem(r, name(d.technician_id, d.technician_name)));
      details.appendChild(list);
    }
    body.appendChild(tr);
  }
  if (!ledger.days.length) {
    const tr = document.createElement("tr");
    cell(tr, C.t("nothing to show")).colSpan = $("#cash thead tr").children.length;
    body.appendChild(tr);
  }
  const heads = [...document.querySelectorAll("#cash thead th")].map((th) => th.textContent.trim());
  for (const tr of body.rows) [...tr.cells].forEach((td, i) => { if (heads[i] && td.colSpan === 1) td.dataset.label = heads[i]; });
}

/** A remittance in the day's details: voided ones struck through with who
 * voided them and why; the others with a "Void" button. */
function remittanceItem(r, techName) {
  const li = document.createElement("li");
  li.dataset.remittance = r.id;
  const text = C.t("remitted {amount} to {who}", { amount: r.amount_shown, who: r.received_by });
  if (r.voided) {
    li.dataset.voided = "true";
    const struck = document.createElement("s");
    struck.textContent = text;
    li.append(struck, C.t(" (voided by {who}: {reason})", { who: r.voided.by, reason: r.voided.reason }));
    return li;
  }
  li.append(text, " ");
  const open = document.createElement("button");
  open.type = "button";
  open.textContent = C.t("Void");
  open.setAttribute("aria-label", C.t("Void the remittance of {amount}", { amount: r.amount_shown }));
  open.addEventListener("click", () => { open.hidden = true; li.appendChild(voidForm(r, techName, () => { open.hidden = false; })); });
  li.appendChild(open);
  return li;
}

/** The reason asked before a remittance is voided. */
function voidForm(r, techName, cancelled) {
  const form = document.createElement("form");
  form.className = "void-form";
  form.noValidate = true;
  const errorId = "void-error-" + r.id;
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.name = "reason";
  input.autocomplete = "off";
  input.setAttribute("aria-describedby", errorId);
  label.append(C.t("Reason for voiding") + " ", input);
  const error = document.createElement("span");
  error.className = "field-error";
  error.id = errorId;
  error.setAttribute("aria-live", "polite");
  const confirm = document.createElement("button");
  confirm.type = "submit";
  confirm.textContent = C.t("Confirm void");
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = C.t("Cancel");
  cancel.addEventListener("click", () => { form.remove(); cancelled(); });
  form.append(label, " ", confirm, " ", cancel, error);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    try {
      await C.api("POST", `/api/technicians/${encodeURIComponent(r.technician_id)}/remittances/${encodeURIComponent(r.id)}/void`,
        { reason: input.value });
    } catch (e) {
      if (e.field === "reason") {
        error.textContent = e.message;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        C.flash("");
      } else {
        C.flash(e.message, true);
      }
      return;
    }
    await load();
    C.flash(C.t("{tech}'s remittance of {amount} voided", { tech: techName, amount: r.amount_shown }));
  });
  queueMicrotask(() => input.focus());
  return form;
}

function clearErrors(form) {
  for (const f of FIELDS) {
    $("#remit-error-" + f).textContent = "";
    form.elements[f].removeAttribute("aria-invalid");
  }
}

function refuse(form, field, message) {
  $("#remit-error-" + field).textContent = message;
  form.elements[field].setAttribute("aria-invalid", "true");
  form.elements[field].focus();
  C.flash("");
}

async function remit(ev) {
  ev.preventDefault();
  const form = ev.target;
  clearErrors(form);
  const technician = form.elements.technician.value;
  if (!technician) return refuse(form, "technician", C.t("choose the technician who handed the cash over"));
  const amount = fenOf(form.elements.amount.value);
  if (amount == null) return refuse(form, "amount", C.t("amount: give the cash in yuan, e.g. 120 or 120.50"));
  const note = form.elements.note.value.trim() || undefined;
  let recorded;
  try {
    recorded = await C.api("POST", `/api/technicians/${encodeURIComponent(technician)}/remittances`, { amount, note });
  } catch (e) {
    if (FIELDS.includes(e.field)) return refuse(form, e.field, e.message);
    C.flash(e.message, true);
    return;
  }
  form.elements.amount.value = "";
  form.elements.note.value = "";
  const who = (technicians.find((x) => x.id === technician) || {}).name || technician;
  // The remittance counts today: show the period up to today.
  $("#cash-to").value = dateOf(C.zone(), Date.now());
  if ($("#cash-from").value > $("#cash-to").value) $("#cash-from").value = $("#cash-to").value;
  await load();
  C.flash(C.t("{amount} remitted by {tech}", { amount: recorded.amount_shown, tech: who }));
}

C.loaders.cash = load;
$("#remit-form").addEventListener("submit", remit);
$("#cash-from").addEventListener("change", () => load().catch((e) => C.flash(e.message, true)));
$("#cash-to").addEventListener("change", () => load().catch((e) => C.flash(e.message, true)));
C.onLanguage.push(() => { if (C.current() === "cash") { clearErrors($("#remit-form")); } });
