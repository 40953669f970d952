// The Admin tab: phones (list, revoke, enrol with a one-time code and the QR
// code the phone scans), adding technicians (trades, work phone) and, for
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

async function loadAdmin() {
  await loadDevices();
  const admin = c.$("#who").dataset.role === "admin";
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
  // After the console has switched its language (its own listener runs later in this click).
  c.$("#lang").addEventListener("click", () => setTimeout(describeCode));
}
