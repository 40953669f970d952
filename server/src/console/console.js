// Doorstep dispatch console: a thin client of the server's JSON API.
import { ZH, translate } from "/i18n.js";
import * as screens from "/screens.js";
import { dateOf, parseWallTime } from "/console/day.js";

const $ = (sel, root = document) => root.querySelector(sel);
const TRADES = ["appliance_repair", "computer_repair", "water_delivery", "home_care",
  "property_maintenance", "heating_service"];
let token = sessionStorage.getItem("doorstep.token");
let technicians = [];
let current = "board";

// The console speaks English or Simplified Chinese (the choice is kept in
// localStorage): the page's fixed text is written in English and translated
// in place; the rest goes through t(). The catalogue is i18n.js.
// Stage and outcome labels come from the server (the core's one table) in
// both languages; English values are written in lower case like the
// console's other values.
const label = (text) => text == null ? "—" : lang === "zh" ? text.zh : text.en.toLowerCase();
/** A name the server gives as `{en, zh}` (a fee-schedule item's), or the code when it has none. */
const nameOr = (text, code) => text ? (lang === "zh" ? text.zh : text.en) : code;
/** A sign-off status, flagged when the signature does not hold or was refused. */
function signoffCell(tr, v) {
  const bad = v.signoff === "broken" || v.signoff === "declined";
  const problem = v.signoff_problem_text ? t(": ") + nameOr(v.signoff_problem_text) : "";
  const td = cell(tr, (bad ? "⚠ " : "") + t(v.signoff) + problem);
  if (bad) td.className = "flagged";
  return td;
}
let lang = localStorage.getItem("doorstep.lang") || (/^zh/i.test(navigator.language) ? "zh" : "en");
function t(text, vars) {
  return translate(lang, text, vars);
}
const english = new WeakMap(); // text node → its English original
function translatePage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("Doorstep — dispatch console");
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  $("#lang").lang = lang === "zh" ? "en" : "zh-CN";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => n.parentElement.closest("tbody, script, #flash, #who, #lang, #recon-summary, #cash-summary, #remit-form select, #visit-detail, #lanes, #unassigned-list, #unassigned-count, #board-axis, #live-status, #offline, #loading, #map, #map-legend, #map-note, #order-invoices, #order-outbound, #order-discounts, #discount-codes, #discount-closed, #discount-code-note, #playbook-detail, #playbook-file-name, .field-error, dialog")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!english.has(n)) english.set(n, n.nodeValue);
    const en = english.get(n), key = en.trim();
    // data-t names a key of its own where the English word means two things.
    const own = n.parentElement.dataset.t;
    if (key) n.nodeValue = en.replace(key, (lang === "zh" && own && ZH[own]) || t(key));
  }
  // Accessible names of the controls without a visible label.
  for (const el of document.querySelectorAll("[aria-label]")) {
    if (!el.dataset.labelEn) el.dataset.labelEn = el.getAttribute("aria-label");
    el.setAttribute("aria-label", t(el.dataset.labelEn));
  }
}

function flash(msg, isError) {
  const f = $("#flash");
  f.textContent = msg || "";
  f.className = isError ? "error" : "";
}

// ---- the connection: a banner while the server cannot be reached (a
// request failed on the network, or the live stream dropped), gone again
// as soon as a request or the stream gets through.
let serverDown = false;
let probe = null;
function connectionLost() {
  if (!serverDown) {
    serverDown = true;
    const b = $("#offline");
    b.textContent = t("The connection to the server is lost: retrying…");
    b.hidden = false;
  }
  // Retries by itself, so the banner goes without the dispatcher's doing.
  if (!probe) probe = setInterval(() => {
    fetch("/healthz", { cache: "no-store" }).then((r) => { if (r.ok) connectionBack(); }, () => {});
  }, 2000);
}
function connectionBack() {
  if (probe) { clearInterval(probe); probe = null; }
  if (!serverDown) return;
  serverDown = false;
  $("#offline").hidden = true;
  if ($("#flash").textContent === t("the server cannot be reached")) flash("");
  // What could not be read meanwhile is read now (later if the dispatcher is typing).
  if (token && !$("#app").hidden && !typing()) show(current); else liveRefresh();
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: Object.assign({ "content-type": "application/json", "accept-language": lang === "zh" ? "zh-CN" : "en",
        "doorstep-display-times": lang === "zh" ? "zh-CN" : "en" },
        token ? { authorization: "Bearer " + token } : {}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    connectionLost();
    const err = new Error(t("the server cannot be reached"));
    err.code = "offline";
    throw err;
  }
  connectionBack();
  if (res.status === 401 && path !== "/api/login") { logout(); throw new Error(t("session expired: log in again")); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = new Error((data && data.error && data.error.message) || res.statusText);
    err.code = data && data.error && data.error.code;
    err.field = data && data.error && data.error.field; // the refused field (invalid_field)
    throw err;
  }
  return data;
}

function cell(tr, value) {
  const td = document.createElement("td");
  if (value instanceof Node) td.appendChild(value); else td.textContent = value == null ? "" : String(value);
  tr.appendChild(td);
  return td;
}

/**
 * A technician as a person reads them: the name (from the API row, else the
 * roster), the id kept in the tooltip; "—" for nobody.
 */
function techName(id, name) {
  if (!id) return "—";
  const known = name || (technicians.find((x) => x.id === id) || {}).name;
  return known || id;
}
function techCell(tr, id, name) {
  const td = cell(tr, techName(id, name));
  td.className = "person"; // a name is not broken across lines
  if (id) td.title = id;
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.textContent = t(label);
  b.addEventListener("click", async () => {
    try { await onClick(); } catch (e) { flash(e.message, true); }
  });
  return b;
}

function fill(tableId, rows, render) {
  const body = $("#" + tableId + " tbody");
  body.replaceChildren();
  for (const r of rows) { const tr = document.createElement("tr"); render(tr, r); body.appendChild(tr); }
  if (!rows.length) {
    const tr = document.createElement("tr");
    cell(tr, t("nothing to show")).colSpan = $("#" + tableId + " thead tr").children.length;
    body.appendChild(tr);
  }
  labelCells($("#" + tableId));
}

/** Names each cell by its column, for the card layout of a narrow screen. */
function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const tr of table.tBodies[0].rows) {
    [...tr.cells].forEach((td, i) => { if (heads[i] && td.colSpan === 1) td.dataset.label = heads[i]; });
  }
}

// The business time zone (from /api/me): the board's days and the typed windows (day.js).
let businessZone;
/**
 * A time of a server answer as people read it: `time(v, "closed_at")` is the
 * `closed_at_text` the server put beside it (every request asks for it with
 * Doorstep-Display-Times), the core's reading in the business time zone —
 * the same words as the phone and the report. The browser formats no time.
 */
const time = (obj, key) => {
  if (!obj || obj[key] == null) return "";
  const text = obj[key + "_text"];
  return text == null ? String(obj[key]) : text;
};
/** A window `{start, end}` as people read it (`12月3日 09:00–11:00`). */
const windowText = (w) => w ? (w.text || time(w, "start") + "–" + time(w, "end")) : "";
const pct = (r) => r.rate == null ? "—" : `${Math.round(r.rate * 100)} % (${r.numerator}/${r.denominator})`;

/** The technician picker (picker.js): resolves to { id, name }, or null. */
async function pickTechnician(a) {
  const chosen = await window.doorstepConsole.pick(a);
  return chosen && chosen.technician;
}

const loaders = {
  async board() {
    const status = $("#status-filter").value;
    const rows = await api("GET", "/api/assignments" + (status ? "?status=" + status : ""));
    fill("board", rows, (tr, a) => {
      const c = a.customer || {};
      cell(tr, a.id);
      cell(tr, [c.name, c.address, a.fault_description].filter(Boolean).join(" · "));
      cell(tr, t(a.trade)); cell(tr, t(a.priority));
      cell(tr, t(a.status) + (a.status === "cancelled" && a.cancel_reason ? t(": ") + a.cancel_reason : ""));
      techCell(tr, a.technician, a.technician_name);
      cell(tr, a.requested_window ? windowText(a.requested_window) : "—");
      cell(tr, a.window_confirmed ? t("yes") : t("no")); cell(tr, a.version);
      const actions = document.createElement("span");
      if (a.status === "open") actions.appendChild(button("Assign", async () => {
        const tech = await pickTechnician(a); if (!tech) return;
        await api("POST", `/api/assignments/${a.id}/assign`, { technician: tech.id, expected_version: a.version });
        flash(t("{id} assigned to {tech}", { id: a.id, tech: tech.name })); loaders.board();
      }));
      if (a.status === "assigned" || a.status === "handed_back") actions.appendChild(button("Reassign", async () => {
        const tech = await pickTechnician(a); if (!tech) return;
        await api("POST", `/api/assignments/${a.id}/reassign`, { technician: tech.id, expected_version: a.version });
        flash(t("{id} reassigned to {tech}", { id: a.id, tech: tech.name })); loaders.board();
      }));
      if (a.status === "assigned" && !a.window_confirmed) actions.appendChild(button("Window confirmed", async () => {
        await api("PATCH", `/api/assignments/${a.id}`, { window_confirmed: true, expected_version: a.version });
        loaders.board();
      }));
      if (a.status !== "cancelled" && a.status !== "done") actions.appendChild(button("Cancel", async () => {
        const reason = prompt(t("Why is it cancelled?")); if (!reason) return;
        await api("POST", `/api/assignments/${a.id}/cancel`, { reason, expected_version: a.version });
        flash(t("{id} cancelled", { id: a.id })); loaders.board();
      }));
      screens.boardActions(actions, a);
      cell(tr, actions);
    });
  },
  async visits(live) {
    const assignment = $("#visit-filter").value.trim();
    const [rows, assignments] = await Promise.all([
      api("GET", "/api/visits" + (assignment ? "?assignment_id=" + encodeURIComponent(assignment) : "")),
      api("GET", "/api/assignments").catch(() => []),
    ]);
    const customers = Object.fromEntries(assignments.map((a) => [a.id, (a.customer || {}).name]));
    // Newest first: by when the technician set off (the server's order otherwise).
    const when = (v) => Date.parse(v.started_at || v.closed_at || "") || 0;
    rows.sort((a, b) => when(b) - when(a));
    fill("visits", rows, (tr, v) => {
      tr.dataset.visit = v.visit_id;
      tr.classList.toggle("selected", v.visit_id === openVisit);
      cell(tr, "…" + v.visit_id.slice(-8)).title = v.visit_id; // UUIDv7: the tail tells them apart
      cell(tr, v.assignment_id); cell(tr, customers[v.assignment_id] || "—"); techCell(tr, v.technician_id, v.technician_name);
      cell(tr, t(v.trade)); cell(tr, label(v.stage_label)); cell(tr, label(v.outcome_label));
      cell(tr, v.trip); cell(tr, time(v, "started_at"));
      const arrived = cell(tr, time(v, "arrived_at") + (v.late ? t(" ({note})", { note: t("late") }) : ""));
      if (v.late) arrived.className = "late";
      cell(tr, time(v, "closed_at")); signoffCell(tr, v);
      tr.addEventListener("click", () => showVisit(v.visit_id).catch((e) => flash(e.message, true)));
    });
    // A live re-read redraws an open visit's detail only when the visit moved
    // on, and never while a customer link (shown once) is on screen.
    const now = rows.find((v) => v.visit_id === openVisit);
    const moved = (x, y) => !x || !y || ["event_count", "stage", "signoff", "conflict_open", "closed_at"].some((k) => x[k] !== y[k]);
    if (openVisit && (!live || (now && moved(now, drawnVisit) && !$("#customer-link")))) await showVisit(openVisit);
  },
  async intake() {},
  async reminders() {
    const rows = await api("GET", "/api/reminders");
    fill("reminders", rows, (tr, r) => {
      cell(tr, r.assignment_id); cell(tr, t(r.priority)); cell(tr, time(r, "received_at"));
      cell(tr, r.overdue_minutes); cell(tr, t(r.level)).className = r.level; cell(tr, r.missing.map((m) => t(m)).join(t(", ")));
    });
  },
  async conflicts() {
    const rows = await api("GET", "/api/conflicts");
    fill("conflicts", rows, (tr, v) => {
      cell(tr, v.visit_id); cell(tr, v.assignment_id); techCell(tr, v.technician_id, v.technician_name);
      cell(tr, t(v.conflict)); cell(tr, label(v.stage_label));
      const d = document.createElement("span");
      for (const [label, decision] of [["Center's change stands", "keep_center"], ["Give back to technician", "reinstate_technician"]]) {
        d.appendChild(button(label, async () => {
          const note = prompt(t("Note for the record (optional)")) || undefined;
          await api("POST", `/api/visits/${v.visit_id}/resolve`, { decision, note });
          flash(t("conflict resolved")); loaders.conflicts();
        }));
      }
      cell(tr, d);
    });
  },
  async callbacks() {
    // Due now and in the next 24 hours, so the desk can plan the day.
    const until = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
    const rows = await api("GET", "/api/callbacks?until=" + encodeURIComponent(until));
    fill("callbacks", rows, (tr, c) => {
      cell(tr, time(c, "due_at")); cell(tr, t(c.reason)); cell(tr, c.customer_name); cell(tr, c.customer_phone);
      cell(tr, c.assignment_id);
      const d = document.createElement("span");
      const record = (reached, satisfied) => async () => {
        const note = prompt(t("Note (optional)")) || undefined;
        await api("POST", "/api/callbacks/result", { visit_id: c.visit_id, reason: c.reason, reached, satisfied, note });
        flash(t("callback recorded")); loaders.callbacks();
      };
      d.appendChild(button("Satisfied", record(true, true)));
      d.appendChild(button("Not satisfied", record(true, false)));
      d.appendChild(button("Not reached", record(false, undefined)));
      cell(tr, d);
    });
  },
  async reconciliation() {
    const date = $("#recon-date").value;
    const r = await api("GET", "/api/reconciliation" + (date ? "?date=" + date : ""));
    $("#recon-summary").textContent = t("{date}: {closed} closed visits, {clean} clean, {findings} with findings",
      { date: r.date, closed: r.closed, clean: r.clean, findings: r.with_findings });
    fill("reconciliation", r.visits, (tr, v) => {
      cell(tr, v.visit_id); techCell(tr, v.technician_id, v.technician_name); cell(tr, label(v.outcome_label)); signoffCell(tr, v);
      // In Chinese the finding's label says it; its message is English.
      cell(tr, v.findings.map((f) => lang === "zh" && f.label ? label(f.label) : (f.label ? label(f.label) + ": " : "") + f.message).join(t("; ")) || t("ok"));
    });
  },
  async kpis() {
    const by = $("#kpi-by").value;
    const r = await api("GET", "/api/kpis?by=" + by);
    fill("kpis", r.groups, (tr, k) => {
      if (by === "technician") techCell(tr, k.group); else cell(tr, t(k.group));
      cell(tr, k.visits); cell(tr, pct(k.on_time_arrival)); cell(tr, pct(k.first_visit_fix));
      cell(tr, pct(k.satisfaction)); cell(tr, pct(k.callback_completion)); cell(tr, pct(k.response_within_24h));
    });
  },
  async roster() {
    technicians = await api("GET", "/api/technicians");
    fill("roster", technicians, (tr, x) => {
      cell(tr, x.id); cell(tr, x.name); cell(tr, x.trades.map((k) => t(k)).join(t(", "))); cell(tr, x.devices);
      cell(tr, x.open_assignments); cell(tr, x.closed_today);
    });
  },
};

// ---- one visit, read-only: what a dispatcher needs to reconcile it
let openVisit = null;
let drawnVisit = null; // the open visit's row as its detail shows it

/** A two-column table: [label, value] rows (a value may be a Node). */
function kv(pairs) {
  const table = document.createElement("table");
  table.className = "kv";
  const body = table.createTBody();
  for (const [k, v] of pairs) {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.textContent = t(k); tr.appendChild(th);
    cell(tr, v == null || v === "" ? "—" : v);
  }
  return table;
}

function heading(text) {
  const h = document.createElement("h3");
  h.textContent = text;
  return h;
}

function punctuality(p) {
  if (!p) return "";
  if (p.tier === "early") return t("{n} min early", { n: p.minutes_early });
  if (p.tier === "on_time") return t("on time");
  return t("late {n} min", { n: p.minutes_late });
}

/** Fetches an authenticated file and hands it to the browser as a download. */
async function download(path, fallbackName) {
  const res = await fetch(path, { headers: token ? { authorization: "Bearer " + token } : {} });
  if (res.status === 401) { logout(); throw new Error(t("session expired: log in again")); }
  if (!res.ok) {
    const data = await res.json().catch(() => null);
    throw new Error((data && data.error && data.error.message) || res.statusText);
  }
  const named = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "");
  const name = named ? named[1] : fallbackName;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await res.blob());
  a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  flash(t("{name} downloaded", { name }));
}

/** A table with a header row and text cells; `id` names it for tests. */
function grid(id, headers, rows) {
  const table = document.createElement("table");
  table.id = id;
  const head = table.createTHead().insertRow();
  for (const h of headers) { const th = document.createElement("th"); th.textContent = t(h); head.appendChild(th); }
  const body = table.createTBody();
  for (const r of rows) { const tr = body.insertRow(); for (const c of r) cell(tr, c == null || c === "" ? "—" : c); }
  return table;
}

/** Diagnosis, work, parts, test run and photos of a visit's state; `d` its display (the parts' names). */
async function recordSections(box, s, d) {
  const part = (item) => nameOr((d.part_names || {})[item], item);
  box.appendChild(heading(t("Diagnosis and work")));
  const dg = s.diagnosis, run = s.test_run;
  const test = run ? t(run.passed ? (run.uncertain ? "passed, to be confirmed" : "passed") : "failed") + " · " + time(run, "at")
    : t("no test run");
  box.appendChild(kv(dg ? [
    ["Cause", dg.cause], ["Fault reproduced", t(dg.fault_reproduced ? "yes" : "no")],
    ["Repair decision", t(dg.decision)], ["Other faults", (s.hidden_faults || []).join("; ")], ["Test run", test],
  ] : [["Cause", t("no diagnosis")], ["Test run", test]]));
  const work = s.work || [];
  if (work.length) {
    box.appendChild(heading(t("Work done")));
    box.appendChild(grid("visit-work", ["Time", "Kind", "Work"], work.map((w) => [time(w, "at"), t(w.kind), w.description])));
  }
  const parts = work.flatMap((w) => w.parts_used || []);
  if (parts.length) {
    box.appendChild(heading(t("Parts")));
    box.appendChild(grid("visit-parts", ["Part", "Old serial", "New serial"], parts.map((p) => [part(p.item), p.old_serial, p.new_serial])));
  }
  // Photos join with report format 2; the section shows only when a visit
  // has some whose bytes have reached the server.
  if ((s.photos || []).length) {
    const { photos } = await api("GET", "/api/visits/" + encodeURIComponent(openVisit) + "/photos");
    const uploaded = photos.filter((p) => p.uploaded);
    if (uploaded.length) {
      box.appendChild(heading(t("Photos")));
      const strip = document.createElement("div");
      strip.id = "visit-photos";
      for (const p of uploaded) {
        // The photo needs the dispatcher's token, which an <img> cannot send.
        const res = await fetch(p.url, { headers: { authorization: "Bearer " + token } });
        if (!res.ok) continue;
        const url = URL.createObjectURL(await res.blob());
        const figure = document.createElement("figure");
        const a = document.createElement("a"); a.href = url; a.target = "_blank";
        const img = document.createElement("img"); img.src = url; img.alt = label(p.name); img.loading = "lazy";
        const caption = document.createElement("figcaption"); caption.textContent = label(p.name);
        a.appendChild(img); figure.append(a, caption); strip.appendChild(figure);
      }
      box.appendChild(strip);
    }
  }
}

/** The customer's signature, redrawn by the server from its strokes. */
async function signatureImage(id) {
  const res = await fetch(`/api/visits/${encodeURIComponent(id)}/signature.svg`, { headers: { authorization: "Bearer " + token } });
  if (!res.ok) return null;
  const img = document.createElement("img");
  img.id = "visit-signature";
  img.alt = t("Signature");
  img.src = URL.createObjectURL(new Blob([await res.text()], { type: "image/svg+xml" }));
  return img;
}

/** The customer link this page created last (its visit and the link as the server answered), kept for redraws. */
let createdLink = null;

/** The service report of a closed visit: PDF and HTML, and the customer link. */
async function reportSection(box, v) {
  box.appendChild(heading(t("Service report")));
  const id = encodeURIComponent(v.visit_id);
  const actions = document.createElement("div");
  actions.id = "visit-report";
  actions.appendChild(button("PDF (中文)", () => download(`/api/visits/${id}/report.pdf?lang=zh-CN`, "service-report-zh-CN.pdf")));
  actions.appendChild(button("PDF (English)", () => download(`/api/visits/${id}/report.pdf?lang=en`, "service-report-en.pdf")));
  actions.appendChild(button("HTML", async () => {
    const res = await fetch(`/api/visits/${id}/report.html?lang=${lang === "zh" ? "zh-CN" : "en"}`, { headers: { authorization: "Bearer " + token } });
    if (!res.ok) throw new Error(res.statusText);
    window.open(URL.createObjectURL(new Blob([await res.text()], { type: "text/html" })), "_blank");
  }));
  const linkBox = document.createElement("div");
  linkBox.id = "visit-report-link";
  const status = document.createElement("span");
  const showStatus = (l) => {
    status.textContent = !l ? t("no customer link yet") : l.expired ? t("link expired {expires}", { expires: time(l, "expires_at") })
      : t("link created {created}, expires {expires}", { created: time(l, "created_at"), expires: time(l, "expires_at") });
  };
  const showCreated = (link) => {
    const field = document.createElement("input");
    field.readOnly = true; field.value = link.url; field.size = 60; field.id = "customer-link";
    const copy = button("Copy", async () => {
      try { await navigator.clipboard.writeText(link.url); } catch (e) { field.select(); document.execCommand("copy"); }
      flash(t("copied"));
    });
    showStatus({ created_at: link.created_at, expires_at: link.expires_at });
    linkBox.replaceChildren(field, copy, document.createElement("br"), status);
  };
  actions.appendChild(button("Create customer link", async () => {
    const link = await api("POST", `/api/visits/${id}/report-link`);
    createdLink = { visit: v.visit_id, link };
    showCreated(link);
    flash(t("the link is shown once: copy it now"));
  }));
  box.appendChild(actions);
  linkBox.appendChild(status);
  box.appendChild(linkBox);
  // The server shows a link once; this page keeps the one it created, so a
  // redraw (a live update, a reconnect's re-read) never loses it.
  if (createdLink && createdLink.visit === v.visit_id) {
    showCreated(createdLink.link);
    return;
  }
  const { link } = await api("GET", `/api/visits/${id}/report-link`);
  showStatus(link);
}

async function showVisit(id) {
  const { visit: v, state: s, display, history } = await api("GET", "/api/visits/" + encodeURIComponent(id));
  openVisit = id;
  document.querySelectorAll("#visits tbody tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.visit === id));
  const a = s.assignment || {}, c = a.customer || {}, q = s.quote, p = s.payment, so = s.sign_off;
  const d = display || { quote_lines: [] }; // labels and amounts as the core formats them
  // Built aside and put in place at once: a redraw (live) neither flickers nor jumps.
  const box = document.createElement("div");
  const title = heading(t("Visit {id}", { id: v.visit_id }));
  const close = button("Close", () => { openVisit = null; drawnVisit = null; $("#visit-detail").hidden = true; loaders.visits(); });
  title.appendChild(document.createTextNode(" ")); title.appendChild(close);
  box.appendChild(title);

  box.appendChild(heading(t("Customer and assignment")));
  box.appendChild(kv([
    ["Customer", [c.name, c.phone, c.address].filter(Boolean).join(" · ")],
    ["Assignment", v.assignment_id + (a.version ? " (v" + a.version + ")" : "")],
    ["Trade", t(v.trade)], ["Fault", a.fault_description],
    ["Product", a.product && a.product.model],
    ["Technician", techName(v.technician_id, v.technician_name) + t(" ({note})", { note: v.technician_id })], ["Device", v.device_id],
    ["Stage", label(v.stage_label)], ["Outcome", label(v.outcome_label)], ["Trip", v.trip],
  ]));

  box.appendChild(heading(t("Timeline")));
  const arrival = s.arrival;
  const arrived = document.createElement("span");
  arrived.textContent = (v.arrived_at ? time(v, "arrived_at") : time(arrival, "at")) +
    (arrival ? " — " + punctuality(arrival.punctuality) : v.late ? " — " + t("late") : "");
  if (v.late) arrived.className = "late";
  const w = s.window;
  box.appendChild(kv([
    ["Request received", time(a, "received_at")],
    ["Window agreed", w ? windowText(w) + t(" ({note})", { note: t(s.window_confirmed ? "yes" : "no") }) : ""],
    ["Set off", time(v, "started_at")], ["Arrived", v.arrived_at || arrival ? arrived : ""],
    ["Signed", so ? time(so.evidence, "signed_at") : s.declined ? time(s.declined, "at") : ""],
    ["Closed", time(v, "closed_at")], ["Events", v.event_count],
  ]));

  await recordSections(box, s, d);

  box.appendChild(heading(t("Quote")));
  if (q) {
    const table = document.createElement("table");
    table.id = "visit-quote";
    const head = table.createTHead().insertRow();
    for (const h of ["Item", "Kind", "Qty", "Unit price", "Amount", "Who pays"]) {
      const th = document.createElement("th"); th.textContent = t(h); head.appendChild(th);
    }
    const body = table.createTBody();
    q.lines.forEach((l, i) => {
      const tr = body.insertRow(), shown = d.quote_lines[i] || {};
      // The item's name from the fee schedule, not its code.
      cell(tr, nameOr(shown.item_name, l.item)); cell(tr, t(l.kind)); cell(tr, l.qty).className = "num";
      cell(tr, shown.unit_price).className = "num";
      cell(tr, shown.amount).className = "num"; cell(tr, t(l.payer));
    });
    box.appendChild(table);
    box.appendChild(kv([
      ["Customer total", d.customer_total],
      ["Covered by warranty", d.covered_total],
      ...(q.deposit_total ? [["Deposit", d.deposit_total]] : []),
      ...(q.discount ? [["Discount", d.discount +
        (q.discount.approved_by ? " (" + q.discount.approved_by + ")" : "")]] : []),
      ["Revision", q.revision],
      ["Accepted", t(s.accepted_revision === q.revision ? "yes" : "no")],
    ]));
  } else box.appendChild(kv([["Quote", t("no quote")]]));

  box.appendChild(heading(t("Payment")));
  const stillDue = document.createElement("span");
  stillDue.textContent = d.amount_due == null ? "—" : d.amount_due;
  if (d.amount_due_fen) stillDue.className = "flagged";
  box.appendChild(kv(p ? [
    ["Collected", d.collected], ["Method", t(p.method)],
    ["Receipt", p.receipt && [t(p.receipt.kind), p.receipt.number || p.receipt.by].filter(Boolean).join(" ")],
    ["Paid in total", d.paid_total], ["Still due", stillDue],
  ] : [["Payment", t("no payment")], ["Still due", stillDue]]));

  box.appendChild(heading(t("Ratings and comment")));
  const r = so && so.ratings;
  box.appendChild(kv(r ? [
    ["Quality", r.quality + " / 5"], ["Attitude", r.attitude + " / 5"], ["Comment", so.comment],
    ["Satisfied", v.satisfied == null ? "—" : t(v.satisfied ? "yes" : "no")],
  ] : [["Ratings and comment", t("no ratings")]]));

  box.appendChild(heading(t("Sign-off")));
  const result = document.createElement("span");
  const bad = v.signoff === "broken" || v.signoff === "declined";
  result.textContent = (bad ? "⚠ " : "") + t(v.signoff);
  if (bad) result.className = "flagged";
  const digest = so ? so.evidence.report_digest : s.declined ? s.declined.report_digest : null;
  const short = document.createElement("code");
  if (digest) { short.textContent = digest.slice(0, 8); short.title = digest; }
  box.appendChild(kv([
    ["Result", result], ["Problem", nameOr(v.signoff_problem_text, "")],
    ["Report digest", digest ? short : ""],
    ["Report version", so ? so.report_version : s.declined ? s.declined.report_version : ""],
    ...(so ? [["Signature", await signatureImage(v.visit_id)],
      ["Evidence chain", t(v.chain_ok ? "intact" : "broken chain")],
      ["Signature strokes", so.stroke_count + t(" ({note})", { note: t(so.strokes_match ? "match" : "do not match") })]] : []),
    ...(s.declined ? [["Declined at", time(s.declined, "at")], ["Reason", s.declined.reason]] : []),
  ]));

  if (v.conflict) {
    box.appendChild(heading(t("Conflict")));
    const state = document.createElement("span");
    state.textContent = v.conflict_open ? t("waiting for a decision") : v.resolution || "";
    if (v.conflict_open) state.className = "flagged";
    box.appendChild(kv([
      ["Conflict", t(v.conflict) + " (v" + v.conflict_version + ")"], ["Decision", state],
      ["Decided by", v.resolved_by ? v.resolved_by + ", " + time(v, "resolved_at") : ""],
    ]));
  }

  // Every fact the phone recorded, named as the technician's screen named
  // the action (the core's command table, through the server).
  box.appendChild(heading(t("History")));
  const list = document.createElement("ol");
  list.id = "visit-history";
  for (const h of history || []) {
    const li = document.createElement("li");
    li.textContent = time(h, "at") + " " + (lang === "zh" ? h.label.zh : h.label.en);
    list.appendChild(li);
  }
  box.appendChild(list);
  if (v.closed_at) await reportSection(box, v);
  if (openVisit !== id) return; // another visit was opened meanwhile
  const shown = $("#visit-detail");
  shown.replaceChildren(...box.childNodes);
  shown.hidden = false;
  drawnVisit = v;
}

// ---- loading: a screen says so while its data is on the way, rather than
// showing an empty table that reads as "nothing there".
let loading = 0; // the number of the shown screen's loads under way
function loadingShown(on) {
  loading = Math.max(0, loading + (on ? 1 : -1));
  const note = $("#loading");
  note.textContent = t("Loading…");
  note.hidden = loading === 0;
  const view = document.querySelector(`[data-view="${current}"]`);
  if (view) view.setAttribute("aria-busy", String(loading > 0));
}

let shown = 0; // which show() is the latest: an older one's end does not clear the note
function show(tab) {
  current = tab;
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
  document.querySelectorAll("[data-view]").forEach((s) => { s.hidden = s.dataset.view !== tab; s.removeAttribute("aria-busy"); });
  const mine = ++shown;
  // The note stands under the screen's heading, above what it waits for.
  const heading2 = document.querySelector(`[data-view="${tab}"] h2`);
  if (heading2) heading2.after($("#loading"));
  loading = 0;
  loadingShown(true);
  loaders[tab]().catch((e) => flash(e.message, true)).finally(() => { if (mine === shown) loadingShown(false); });
}

// ---- live updates: the server's change events (live.js sends
// `doorstep:change`) re-read the shown list (the work orders, the visits)
// and the queue's count, a moment
// after the last of a burst, keeping filters, scroll and selection; never
// while the dispatcher is typing or choosing in a dialog (then on leaving the field).
const LIVE_DELAY_MS = 400;
const liveReaders = [];
let liveTimer = null;
let livePending = false;
function typing() {
  if (document.querySelector("dialog[open]")) return true;
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  if (el.isContentEditable || el.tagName === "TEXTAREA") return true;
  return el.tagName === "INPUT" && !["button", "submit", "reset", "checkbox", "radio", "date"].includes(el.type);
}
function liveRefresh() {
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => {
    liveTimer = null;
    if (!token || $("#app").hidden) return;
    if (typing()) { livePending = true; return; }
    livePending = false;
    for (const read of liveReaders) read(current).catch(() => {});
  }, LIVE_DELAY_MS);
}
liveReaders.push(async (tab) => { if (tab === "visits") await loaders.visits(true); });
liveReaders.push(async (tab) => { if (tab === "board") await loaders.board(); });
window.addEventListener("doorstep:change", liveRefresh);
document.addEventListener("focusout", () => { if (livePending) liveRefresh(); });
document.addEventListener("close", () => { if (livePending) liveRefresh(); }, true);

async function start() {
  try {
    const me = await api("GET", "/api/me");
    $("#who").dataset.username = me.username; $("#who").dataset.role = me.role;
    businessZone = me.business_time_zone;
    $("#who").textContent = t("{user} ({role})", { user: me.username, role: t(me.role) });
  } catch (e) { return; }
  $("#login-view").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  technicians = await api("GET", "/api/technicians").catch(() => []);
  show("board");
}

// Keeps the board current while it is shown, also when the live stream is
// down (one timer, however often one logs in; live changes come sooner).
setInterval(() => {
  if (token && !$("#app").hidden && !$("[data-view=board]").hidden) loaders.board().catch(() => {});
}, 15000);

function logout() {
  if (token) fetch("/api/logout", { method: "POST", headers: { authorization: "Bearer " + token } }).catch(() => {});
  token = null; sessionStorage.removeItem("doorstep.token");
  $("#login-view").hidden = false; $("#app").hidden = true; $("#logout").hidden = true; $("#who").textContent = "";
  delete $("#who").dataset.username;
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const r = await api("POST", "/api/login", { username: f.get("username"), password: f.get("password") });
    token = r.token; sessionStorage.setItem("doorstep.token", token);
    flash(""); start();
  } catch (e) { flash(e.code === "unauthorized" ? t("wrong username or password") : e.message, true); }
});

/**
 * A requested window typed as wall-clock times of the business zone
 * ("2026-12-03 09:00"): { value } (none when both are empty), or
 * { refused } naming the field and what is accepted.
 */
function windowOf(start, end) {
  start = String(start || "").trim(); end = String(end || "").trim();
  if (!start && !end) return {};
  const zone = businessZone || "Asia/Shanghai";
  const [from, to] = [parseWallTime(zone, start), parseWallTime(zone, end)];
  const example = { example: "2026-12-03 09:00" };
  if (from == null) return { refused: t("Window start: type the date and time as {example} (business time)", example) };
  if (to == null) return { refused: t("Window end: type the date and time as {example} (business time)", example) };
  if (to <= from) return { refused: t("Window end: must be after the start") };
  return { value: { start: new Date(from).toISOString(), end: new Date(to).toISOString() } };
}

$("#intake-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const requested = windowOf(f.get("start"), f.get("end"));
  if (requested.refused) { flash(requested.refused, true); return; }
  const body = {
    classification: f.get("classification"),
    caller: { name: f.get("name") || null, phone: f.get("phone") || null, address: f.get("address") || null },
    content: f.get("content"),
    trade: f.get("trade") || undefined,
    product: { model: f.get("model") || null },
    answer: f.get("answer") || undefined,
  };
  if (requested.value) body.requested_window = requested.value;
  try {
    const r = await api("POST", "/api/intakes", body);
    flash(r.assignment ? t("recorded; assignment {id} created", { id: r.assignment.id }) : t("recorded"));
    ev.target.reset();
  } catch (e) { flash(e.message, true); }
});

for (const k of TRADES) { const o = document.createElement("option"); o.value = o.textContent = k; $("#trade-select").appendChild(o); }
// The desk's screens (screens.js) get the console's helpers and add their tabs.
screens.install({ $, api, t, flash, time, windowText, cell, fill, button, heading, kv, loaders, show, lang: () => lang, technicians: () => technicians, techName, windowOf, current: () => current,
  onLive: (read) => liveReaders.push(read), typing });
translatePage();
document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
document.querySelectorAll("button.reload").forEach((b) => b.addEventListener("click", () => show(b.closest("[data-view]").dataset.view)));
$("#refresh-board").addEventListener("click", () => show("board"));
$("#status-filter").addEventListener("change", () => show("board"));
$("#kpi-by").addEventListener("change", () => show("kpis"));
$("#visit-filter").addEventListener("change", () => { openVisit = null; $("#visit-detail").hidden = true; show("visits"); });
$("#logout").addEventListener("click", () => { logout(); flash(""); });
$("#lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("doorstep.lang", lang);
  translatePage(); flash("");
  $("#offline").textContent = t("The connection to the server is lost: retrying…");
  const who = $("#who").dataset;
  if (who.username) $("#who").textContent = t("{user} ({role})", { user: who.username, role: t(who.role) });
  if (!$("#app").hidden) show(current);
});
$("#sample").addEventListener("click", async () => {
  try {
    const r = await api("POST", "/api/callbacks/monthly-sample", { month: dateOf(window.doorstepConsole.zone(), Date.now()).slice(0, 7) });
    flash(t("sample drawn: {sampled} of {served} served customers", { sampled: r.sampled, served: r.served_customers })); loaders.callbacks();
  } catch (e) { flash(e.message, true); }
});
// What the dispatch screens' ES modules (board.js, picker.js, map.js,
// live.js) use of this page: they add their loaders and the picker here.
window.doorstepConsole = {
  api, t, flash, loaders, time, windowText, lang: () => lang, zone: () => businessZone || "Asia/Shanghai",
  signedIn: () => Boolean(token) && !$("#app").hidden, current: () => current,
  token: () => token, pick: null, onLanguage: [], connectionLost, connectionBack,
};
$("#lang").addEventListener("click", () => window.doorstepConsole.onLanguage.forEach((f) => f()));
if (token) start();
