// The Admin tab: phones (list, revoke, enrol with a one-time code and the QR
// code the phone scans), adding technicians (trades, work phone), the
// company playbooks (服务规范版本: the published versions, one's fee schedule
// and signature, and for admins the form publishing a new one) and, for
// admins, staff accounts (create, disable or enable, end sessions).

const TRADES = ["appliance_repair", "computer_repair", "water_delivery", "home_care",
  "property_maintenance", "heating_service"];

let c; // the console's helpers

async function loadDevices() {
  const [devices, techs] = await Promise.all([c.api("GET", "/api/devices"), c.api("GET", "/api/technicians")]);
  const name = Object.fromEntries(techs.map((x) => [x.id, x.name]));
  c.fill("devices", devices, (tr, d) => {
    c.cell(tr, d.device_id); c.cell(tr, name[d.technician_id] || d.technician_id);
    c.cell(tr, c.time(d, "enrolled_at")); c.cell(tr, d.last_sync_at ? c.time(d, "last_sync_at") : "—");
    c.cell(tr, c.t(d.revoked_at ? "revoked" : "active"));
    const actions = document.createElement("span");
    if (!d.revoked_at) actions.appendChild(c.button("Revoke", async () => {
      await c.api("POST", `/api/devices/${encodeURIComponent(d.device_id)}/revoke`);
      c.flash(c.t("{device} revoked: its token no longer syncs", { device: d.device_id })); loadDevices();
    }));
    c.cell(tr, actions);
  });
  // The technician picker of the enrolment form: names, not ids.
  const select = c.$("#enrol-technician"), chosen = select.value;
  select.replaceChildren(...techs.filter((x) => x.active !== false).map((x) => {
    const o = document.createElement("option");
    o.value = x.id; o.textContent = x.name + " · " + x.trades.map((k) => c.t(k)).join(c.t(", "));
    return o;
  }));
  if (chosen) select.value = chosen;
}

async function loadUsers() {
  const users = await c.api("GET", "/api/users");
  const accounts = c.$("#password-form select[name=username]"), chosen = accounts.value;
  accounts.replaceChildren(...users.map((u) => {
    const o = document.createElement("option");
    o.value = u.username; o.textContent = u.username;
    return o;
  }));
  if (chosen) accounts.value = chosen;
  c.fill("users", users, (tr, u) => {
    c.cell(tr, u.username); c.cell(tr, c.t(u.role)); c.cell(tr, c.time(u, "created_at"));
    c.cell(tr, c.t(u.disabled ? "disabled" : "active"));
    const actions = document.createElement("span");
    const act = (label, path, done) => actions.appendChild(c.button(label, async () => {
      await c.api("POST", `/api/users/${encodeURIComponent(u.username)}/${path}`);
      c.flash(c.t(done, { user: u.username })); loadUsers();
    }));
    if (u.disabled) act("Enable", "enable", "{user} enabled");
    else act("Disable", "disable", "{user} disabled: signed out everywhere");
    act("End sessions", "sessions/end", "{user} signed out everywhere");
    c.cell(tr, actions);
  });
}

// ---- company playbooks (服务规范版本; docs/API.md "Company playbooks"):
// what was published, newest first within each trade; one version's fee
// schedule and whether its signature holds under the server's playbook key;
// for admins, publishing a new version from a JSON file or pasted JSON. A
// refusal stands under the form naming the field; what was typed stays.

let playbookKey = null; // the server's public playbook key (hex of the SEC1 point)
let shownPlaybook = null; // { trade, version } of the version whose details are open

/** Fen as yuan: 3500 → ¥35.00 (as the work orders show amounts). */
const yuan = (fen) => "¥" + (Number(fen) / 100).toFixed(2);
/** A `{en, zh}` name of a playbook, in the console's language. */
const named = (name) => name && typeof name === "object" ? (c.lang() === "zh" ? name.zh : name.en) || name.en || name.zh : name;

async function loadPlaybooks() {
  const r = await c.api("GET", "/api/playbooks");
  playbookKey = r.playbook_key;
  c.fill("playbooks", r.playbooks, (tr, p) => {
    c.cell(tr, c.t(p.trade)); c.cell(tr, c.t("version {version}", { version: p.version }));
    c.cell(tr, p.published_by); c.cell(tr, c.time(p, "published_at"));
    const actions = document.createElement("span");
    const view = actions.appendChild(c.button("View", () => showPlaybook(p.trade, p.version)));
    view.setAttribute("aria-label", c.t("View {trade} version {version}", { trade: c.t(p.trade), version: p.version }));
    c.cell(tr, actions);
  });
  if (!r.playbooks.length) {
    c.$("#playbooks tbody td").textContent = c.t("No company version yet: every trade walks the shipped playbook");
  }
  showChosenFile();
  if (shownPlaybook) await showPlaybook(shownPlaybook.trade, shownPlaybook.version);
}

const hexBytes = (hex) => new Uint8Array((String(hex).match(/../g) || []).map((h) => parseInt(h, 16)));

/** A DER ECDSA P-256 signature (SEQUENCE of the INTEGERs r and s) as the 64 bytes r‖s WebCrypto verifies. */
function rawSignature(der) {
  if (der[0] !== 0x30) throw new Error("not a DER signature");
  const raw = new Uint8Array(64);
  let at = 2;
  for (const offset of [0, 32]) {
    if (der[at] !== 0x02) throw new Error("not a DER signature");
    const length = der[at + 1];
    let n = der.slice(at + 2, at + 2 + length);
    at += 2 + length;
    while (n.length > 32 && n[0] === 0) n = n.slice(1);
    if (n.length > 32) throw new Error("not a P-256 signature");
    raw.set(n, offset + 32 - n.length);
  }
  return raw;
}

/**
 * Whether `signature` (hex of DER) holds for `body` under the playbook key,
 * as a phone checks it: true, false, or null when this browser cannot check
 * (WebCrypto only over HTTPS or on this computer).
 */
async function signatureHolds(body, signature) {
  if (!window.crypto || !crypto.subtle || !playbookKey) return null;
  try {
    const key = await crypto.subtle.importKey("raw", hexBytes(playbookKey), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, rawSignature(hexBytes(signature)),
      new TextEncoder().encode("doorstep-playbook-v1\n" + body));
  } catch (e) { return false; }
}

/** One version's fee schedule and signature, under the list. */
async function showPlaybook(trade, version) {
  const p = await c.api("GET", `/api/playbooks/${encodeURIComponent(trade)}/${encodeURIComponent(version)}`);
  const body = JSON.parse(p.body);
  const holds = await signatureHolds(p.body, p.signature);
  shownPlaybook = { trade, version };
  const box = document.createElement("div");
  const title = document.createElement("h3");
  title.id = "playbook-detail-title";
  title.textContent = c.t("Fee schedule of {trade} version {version}", { trade: c.t(trade), version });
  title.append(" ", c.button("Close", () => { shownPlaybook = null; c.$("#playbook-detail").hidden = true; }));
  const table = document.createElement("table");
  table.id = "playbook-fees";
  const heads = ["Item", "Kind", "Price"].map((h) => c.t(h));
  const head = table.createTHead().insertRow();
  heads.forEach((h, i) => {
    const th = document.createElement("th"); th.textContent = h; if (i === 2) th.className = "num"; head.appendChild(th);
  });
  const rows = table.createTBody();
  for (const f of body.fees || []) {
    const tr = rows.insertRow();
    [named(f.name) || f.id, c.t(f.kind), yuan(f.price)].forEach((v, i) => {
      const td = c.cell(tr, v); td.dataset.label = heads[i]; if (i === 2) td.className = "num";
    });
  }
  const sig = document.createElement("p");
  sig.id = "playbook-signature";
  const status = holds === null ? "not checked: this browser checks signatures only over HTTPS"
    : holds ? "verified under the server's playbook key" : "⚠ does not verify under the server's playbook key";
  sig.textContent = c.t("Signature {signature}…: {status}", { signature: p.signature.slice(0, 16), status: c.t(status) });
  sig.title = p.signature;
  if (holds === false) sig.className = "flagged";
  box.append(title, table, sig);
  const shown = c.$("#playbook-detail");
  shown.replaceChildren(...box.childNodes);
  shown.hidden = false;
}

function clearPlaybookError() {
  c.$("#playbook-error").textContent = "";
  c.$("#playbook-form").elements.json.removeAttribute("aria-invalid");
}

/** A refusal under the form, the text box marked (its `length` characters at `at` selected, when known). */
function refusePlaybook(message, at, length = 1) {
  const box = c.$("#playbook-form").elements.json;
  c.$("#playbook-error").textContent = message;
  box.setAttribute("aria-invalid", "true");
  box.focus();
  if (at != null) {
    // The caret at the problem, scrolled into view (a playbook is some hundred lines).
    box.setSelectionRange(at, Math.min(at + length, box.value.length));
    const lines = box.value.slice(0, at).split("\n").length;
    box.scrollTop = Math.max(0, (lines - 3) * (box.scrollHeight / box.value.split("\n").length));
  }
  c.flash("");
}

/**
 * Why `text` is not JSON, in the console's words (the browser's own are
 * English): where, when the browser says (as an offset or a line and
 * column), or what is missing.
 */
function notJson(text, e) {
  const said = String(e && e.message);
  let line, column, at;
  const lc = /line (\d+) column (\d+)/.exec(said), pos = /position (\d+)/.exec(said);
  if (pos) {
    at = Number(pos[1]);
    const before = text.slice(0, at).split("\n");
    line = before.length; column = before[before.length - 1].length + 1;
  } else if (lc) {
    line = Number(lc[1]); column = Number(lc[2]);
    at = text.split("\n").slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
  }
  const short = /end of (JSON )?(input|data)/i.test(said) || (at != null && at >= text.trimEnd().length);
  if (line && !short) return [c.t("The text is not valid JSON: look at line {line}, column {column}; nothing was sent", { line, column }), at];
  if (short) {
    return [c.t("The text is not valid JSON: it ends too soon (a closing bracket or quote is missing); nothing was sent"), text.length];
  }
  return [c.t("The text is not valid JSON: check its brackets, commas and quotes; nothing was sent")];
}

/**
 * Where the refused field (`fees[0].price`) is written in `text`, roughly:
 * each key of the path in turn, an item found by its `id`: [offset, length]
 * of the last found, or [] when none is.
 */
function fieldAt(text, playbook, field) {
  let at = -1, length = 0, value = playbook;
  for (const [, key, index] of field.matchAll(/(\w+)|\[(\d+)\]/g)) {
    value = value == null ? undefined : value[key != null ? key : Number(index)];
    const mark = key != null ? JSON.stringify(key) : value && typeof value.id === "string" ? JSON.stringify(value.id) : null;
    if (mark == null) continue;
    const found = text.indexOf(mark, at + 1);
    if (found < 0) break;
    at = found; length = mark.length;
  }
  return at < 0 ? [] : [at, length];
}

/** The server's refusal, naming the playbook's field (and the item it is in, by its name). */
function playbookRefused(e, playbook) {
  // Trade ids in an English message read as the trade's name.
  const message = String(e.message).replace(/^playbook\.[^:]*: /, "").replace(/\b[a-z]+_[a-z_]+\b/g, (k) => TRADES.includes(k) ? c.t(k) : k);
  const field = e.code === "version_not_newer" ? "version" : e.code === "invalid_field" && e.field ? e.field.replace(/^playbook\.?/, "") : null;
  if (!field) { refusePlaybook(message); return; }
  const item = /^(\w+)\[(\d+)\]/.exec(field);
  const name = item && Array.isArray(playbook[item[1]]) && playbook[item[1]][Number(item[2])] && named(playbook[item[1]][Number(item[2])].name);
  refusePlaybook(c.t("Field {field}: {message}", {
    field: field + (name ? c.t(" ({note})", { note: name }) : ""), message,
  }), ...fieldAt(c.$("#playbook-form").elements.json.value, playbook, field));
}

/** The name of the chosen file beside the picker, or that none is. */
function showChosenFile() {
  const file = c.$("#playbook-file").files[0];
  c.$("#playbook-file-name").textContent = file ? file.name : c.t("no file chosen");
}

/** Reads the chosen file into the text box: what is sent is what is seen. */
async function choosePlaybookFile(ev) {
  const file = ev.target.files && ev.target.files[0];
  showChosenFile();
  if (!file) return;
  clearPlaybookError();
  c.$("#playbook-form").elements.json.value = await file.text();
}

async function publishPlaybook(ev) {
  ev.preventDefault();
  const form = ev.target, text = form.elements.json.value;
  clearPlaybookError();
  if (!text.trim()) { refusePlaybook(c.t("Choose a JSON file or paste the playbook's JSON first")); return; }
  let playbook;
  try { playbook = JSON.parse(text); } catch (e) { refusePlaybook(...notJson(text, e)); return; }
  if (!playbook || typeof playbook !== "object" || Array.isArray(playbook)) {
    refusePlaybook(c.t("The playbook must be one JSON object, in braces { … }; nothing was sent")); return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true; // published once, however often it is clicked
  let r;
  try { r = await c.api("POST", "/api/playbooks", playbook); } catch (e) { playbookRefused(e, playbook); return; } finally { button.disabled = false; }
  form.reset();
  showChosenFile();
  c.flash(c.t("Published {trade} version {version}: phones get it at their next sync; visits already started keep their version",
    { trade: c.t(r.trade), version: r.version }));
  await loadPlaybooks();
}

async function loadAdmin() {
  const admin = c.$("#who").dataset.role === "admin";
  c.$("#playbook-publish").hidden = !admin;
  await Promise.all([loadDevices(), loadPlaybooks()]);
  c.$("#staff").hidden = !admin;
  if (admin) await loadUsers();
}

/** The enrolment code on screen, described in the console's language (again after a switch). */
let shownCode = null;
function describeCode() {
  if (!shownCode) return;
  const r = shownCode;
  c.$("#enrol-code-text").textContent = c.t("Enrolment code {code} for {device}: scan the QR code with the phone, or type the code in it, before {expires}. It works once.",
    { code: r.code, device: r.device_id, expires: c.time(r, "expires_at") });
  c.$("#enrol-qr").alt = c.t("QR code of enrolment code {code}", { code: r.code });
}

async function makeCode(ev) {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const r = await c.api("POST", `/api/technicians/${encodeURIComponent(f.get("technician"))}/enrolment-codes`,
      { device_id: f.get("device").trim(), server: location.origin });
    shownCode = r;
    describeCode();
    c.$("#enrol-qr").src = URL.createObjectURL(new Blob([r.qr_svg], { type: "image/svg+xml" }));
    c.$("#enrol-code").hidden = false;
    ev.target.reset();
  } catch (e) { c.flash(e.message, true); }
}

async function addTechnician(ev) {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const trades = f.getAll("trades");
  try {
    await c.api("POST", "/api/technicians", { id: f.get("id").trim(), name: f.get("name").trim(),
      phone: f.get("phone").trim() || undefined, trades });
    c.flash(c.t("{name} added", { name: f.get("name").trim() }));
    ev.target.reset(); loadDevices();
  } catch (e) { c.flash(e.message, true); }
}

async function createUser(ev) {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    await c.api("POST", "/api/users", { username: f.get("username").trim(), password: f.get("password"), role: f.get("role") });
    c.flash(c.t("{user} created", { user: f.get("username").trim() }));
    ev.target.reset(); loadUsers();
  } catch (e) { c.flash(e.message, true); }
}

async function setPassword(ev) {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const user = f.get("username");
  try {
    const r = await c.api("POST", `/api/users/${encodeURIComponent(user)}/password`, { password: f.get("password") });
    c.flash(c.t("new password set for {user}: signed out of {n} sessions", { user, n: r.sessions_ended }));
    ev.target.elements.password.value = "";
  } catch (e) { c.flash(e.message, true); }
}

/** Gives the console the Admin tab. */
export function install(helpers) {
  c = helpers;
  c.loaders.admin = loadAdmin;
  const box = c.$("#technician-trades");
  for (const k of TRADES) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox"; input.name = "trades"; input.value = k;
    label.append(input, document.createTextNode(" " + k));
    box.appendChild(label);
  }
  c.$("#enrol-form").addEventListener("submit", makeCode);
  c.$("#technician-form").addEventListener("submit", addTechnician);
  c.$("#user-form").addEventListener("submit", createUser);
  c.$("#password-form").addEventListener("submit", setPassword);
  c.$("#playbook-form").addEventListener("submit", publishPlaybook);
  c.$("#playbook-form").elements.file.addEventListener("change", (ev) => choosePlaybookFile(ev).catch((e) => c.flash(e.message, true)));
  // A refusal goes in the same click that switches the language, before the
  // screen shows the new language's labels (what was typed stays); the
  // enrolment code is described after the console has switched (its own
  // listener runs later in this click).
  c.$("#lang").addEventListener("click", () => { clearPlaybookError(); setTimeout(describeCode); });
}
