// Doorstep dispatch console: a thin client of the server's JSON API.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const TRADES = ["appliance_repair", "computer_repair", "water_delivery", "home_care",
  "property_maintenance", "heating_service"];
let token = sessionStorage.getItem("doorstep.token");
let technicians = [];

function flash(msg, isError) {
  const f = $("#flash");
  f.textContent = msg || "";
  f.className = isError ? "error" : "";
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: Object.assign({ "content-type": "application/json" },
      token ? { authorization: "Bearer " + token } : {}),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && path !== "/api/login") { logout(); throw new Error("session expired: log in again"); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((data && data.error && data.error.message) || res.statusText);
  return data;
}

function cell(tr, value) {
  const td = document.createElement("td");
  if (value instanceof Node) td.appendChild(value); else td.textContent = value == null ? "" : String(value);
  tr.appendChild(td);
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.textContent = label;
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
    cell(tr, "nothing to show").colSpan = $("#" + tableId + " thead tr").children.length;
    body.appendChild(tr);
  }
}

const time = (t) => t ? new Date(t).toLocaleString() : "";
const pct = (r) => r.rate == null ? "—" : `${Math.round(r.rate * 100)} % (${r.numerator}/${r.denominator})`;

function pickTechnician(trade) {
  const fit = technicians.filter((t) => t.trades.includes(trade)).map((t) => t.id);
  const id = prompt("Technician id (" + (fit.join(", ") || "none qualified") + ")", fit[0] || "");
  return id && id.trim();
}

const loaders = {
  async board() {
    const status = $("#status-filter").value;
    const rows = await api("GET", "/api/assignments" + (status ? "?status=" + status : ""));
    fill("board", rows, (tr, a) => {
      const c = a.customer || {};
      cell(tr, a.id);
      cell(tr, [c.name, c.address, a.fault_description].filter(Boolean).join(" · "));
      cell(tr, a.trade); cell(tr, a.priority);
      cell(tr, a.status === "cancelled" && a.cancel_reason ? `cancelled: ${a.cancel_reason}` : a.status);
      cell(tr, a.technician || "—");
      cell(tr, a.requested_window ? time(a.requested_window.start) : "—");
      cell(tr, a.window_confirmed ? "yes" : "no"); cell(tr, a.version);
      const actions = document.createElement("span");
      if (a.status === "open") actions.appendChild(button("Assign", async () => {
        const t = pickTechnician(a.trade); if (!t) return;
        await api("POST", `/api/assignments/${a.id}/assign`, { technician: t, expected_version: a.version });
        flash(`${a.id} assigned to ${t}`); loaders.board();
      }));
      if (a.status === "assigned" || a.status === "handed_back") actions.appendChild(button("Reassign", async () => {
        const t = pickTechnician(a.trade); if (!t) return;
        await api("POST", `/api/assignments/${a.id}/reassign`, { technician: t, expected_version: a.version });
        flash(`${a.id} reassigned to ${t}`); loaders.board();
      }));
      if (a.status === "assigned" && !a.window_confirmed) actions.appendChild(button("Window confirmed", async () => {
        await api("PATCH", `/api/assignments/${a.id}`, { window_confirmed: true, expected_version: a.version });
        loaders.board();
      }));
      if (a.status !== "cancelled" && a.status !== "done") actions.appendChild(button("Cancel", async () => {
        const reason = prompt("Why is it cancelled?"); if (!reason) return;
        await api("POST", `/api/assignments/${a.id}/cancel`, { reason, expected_version: a.version });
        flash(`${a.id} cancelled`); loaders.board();
      }));
      cell(tr, actions);
    });
  },
  async intake() {},
  async reminders() {
    const rows = await api("GET", "/api/reminders");
    fill("reminders", rows, (tr, r) => {
      cell(tr, r.assignment_id); cell(tr, r.priority); cell(tr, time(r.received_at));
      cell(tr, r.overdue_minutes); cell(tr, r.level).className = r.level; cell(tr, r.missing.join(", "));
    });
  },
  async conflicts() {
    const rows = await api("GET", "/api/conflicts");
    fill("conflicts", rows, (tr, v) => {
      cell(tr, v.visit_id); cell(tr, v.assignment_id); cell(tr, v.technician_id);
      cell(tr, v.conflict); cell(tr, v.stage);
      const d = document.createElement("span");
      for (const [label, decision] of [["Center's change stands", "keep_center"], ["Give back to technician", "reinstate_technician"]]) {
        d.appendChild(button(label, async () => {
          const note = prompt("Note for the record (optional)") || undefined;
          await api("POST", `/api/visits/${v.visit_id}/resolve`, { decision, note });
          flash("conflict resolved"); loaders.conflicts();
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
      cell(tr, time(c.due_at)); cell(tr, c.reason); cell(tr, c.customer_name); cell(tr, c.customer_phone);
      cell(tr, c.assignment_id);
      const d = document.createElement("span");
      const record = (reached, satisfied) => async () => {
        const note = prompt("Note (optional)") || undefined;
        await api("POST", "/api/callbacks/result", { visit_id: c.visit_id, reason: c.reason, reached, satisfied, note });
        flash("callback recorded"); loaders.callbacks();
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
    $("#recon-summary").textContent = `${r.date}: ${r.closed} closed visits, ${r.clean} clean, ${r.with_findings} with findings`;
    fill("reconciliation", r.visits, (tr, v) => {
      cell(tr, v.visit_id); cell(tr, v.technician_id); cell(tr, v.outcome); cell(tr, v.signoff);
      cell(tr, v.findings.map((f) => f.message).join("; ") || "ok");
    });
  },
  async kpis() {
    const r = await api("GET", "/api/kpis?by=" + $("#kpi-by").value);
    fill("kpis", r.groups, (tr, k) => {
      cell(tr, k.group); cell(tr, k.visits); cell(tr, pct(k.on_time_arrival)); cell(tr, pct(k.first_visit_fix));
      cell(tr, pct(k.satisfaction)); cell(tr, pct(k.callback_completion)); cell(tr, pct(k.response_within_24h));
    });
  },
  async roster() {
    technicians = await api("GET", "/api/technicians");
    fill("roster", technicians, (tr, t) => {
      cell(tr, t.id); cell(tr, t.name); cell(tr, t.trades.join(", ")); cell(tr, t.devices);
      cell(tr, t.open_assignments); cell(tr, t.closed_today);
    });
  },
};

function show(tab) {
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
  document.querySelectorAll("[data-view]").forEach((s) => { s.hidden = s.dataset.view !== tab; });
  loaders[tab]().catch((e) => flash(e.message, true));
}

async function start() {
  try {
    const me = await api("GET", "/api/me");
    $("#who").textContent = me.username + " (" + me.role + ")";
  } catch (e) { return; }
  $("#login-view").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  technicians = await api("GET", "/api/technicians").catch(() => []);
  show("board");
}

// Keeps the board current while it is shown (one timer, however often one logs in).
setInterval(() => {
  if (token && !$("#app").hidden && !$("[data-view=board]").hidden) loaders.board().catch(() => {});
}, 15000);

function logout() {
  if (token) fetch("/api/logout", { method: "POST", headers: { authorization: "Bearer " + token } }).catch(() => {});
  token = null; sessionStorage.removeItem("doorstep.token");
  $("#login-view").hidden = false; $("#app").hidden = true; $("#logout").hidden = true; $("#who").textContent = "";
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const r = await api("POST", "/api/login", { username: f.get("username"), password: f.get("password") });
    token = r.token; sessionStorage.setItem("doorstep.token", token);
    flash(""); start();
  } catch (e) { flash(e.message, true); }
});

$("#intake-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const iso = (v) => v ? new Date(v).toISOString() : null;
  const body = {
    classification: f.get("classification"),
    caller: { name: f.get("name") || null, phone: f.get("phone") || null, address: f.get("address") || null },
    content: f.get("content"),
    trade: f.get("trade") || undefined,
    product: { model: f.get("model") || null },
    answer: f.get("answer") || undefined,
  };
  if (f.get("start") && f.get("end")) body.requested_window = { start: iso(f.get("start")), end: iso(f.get("end")) };
  try {
    const r = await api("POST", "/api/intakes", body);
    flash(r.assignment ? `recorded; assignment ${r.assignment.id} created` : "recorded");
    ev.target.reset();
  } catch (e) { flash(e.message, true); }
});

for (const t of TRADES) { const o = document.createElement("option"); o.value = o.textContent = t; $("#trade-select").appendChild(o); }
document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
document.querySelectorAll("button.reload").forEach((b) => b.addEventListener("click", () => show(b.closest("[data-view]").dataset.view)));
$("#refresh-board").addEventListener("click", () => show("board"));
$("#status-filter").addEventListener("change", () => show("board"));
$("#kpi-by").addEventListener("change", () => show("kpis"));
$("#logout").addEventListener("click", logout);
$("#sample").addEventListener("click", async () => {
  try {
    const r = await api("POST", "/api/callbacks/monthly-sample", { month: new Date().toISOString().slice(0, 7) });
    flash(`sample drawn: ${r.sampled} of ${r.served_customers} served customers`); loaders.callbacks();
  } catch (e) { flash(e.message, true); }
});
if (token) start();
