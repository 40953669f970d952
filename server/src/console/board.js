// The dispatch board: technicians × the hours of one business day, each
// assignment a block (customer, trade, window, visit progress). Drag a block
// to another technician or time to reassign or reschedule (with the API's
// version check); or select it and choose in the picker dialog (keyboard).
// Unassigned work waits in the side list. Updates patch the blocks in place
// (live.js calls refreshBoard), so focus and scroll stay where they were.
import { dayBounds, dateOf, clock, minutesInto, instantOf } from "./day.js";
import { pickFor } from "./picker.js";

const C = window.doorstepConsole;
const $ = (sel, root = document) => root.querySelector(sel);
const PX_PER_MINUTE = 1; // 60 px an hour: a 24-hour lane scrolls inside the board
const SNAP_MINUTES = 15;

let data = { assignments: [], technicians: [], visits: [] };
let day = null; // "YYYY-MM-DD" in the business zone

const zone = () => C.zone();

/** A visit's progress as the board shows it: the newest visit of the assignment. */
export function progressOf(a, visits) {
  const mine = visits.filter((v) => v.assignment_id === a.id);
  const when = (v) => Date.parse(v.closed_at || v.arrived_at || v.started_at || "") || 0;
  const v = mine.sort((x, y) => when(y) - when(x))[0];
  if (v && v.conflict_open) return "conflict";
  if (a.status === "done" || (v && v.closed_at)) return "done";
  if (v && v.arrived_at) return "on site";
  if (v && v.started_at) return "en route";
  if (a.status === "open" || a.status === "handed_back") return "unassigned";
  return a.window_confirmed ? "confirmed" : "not confirmed";
}

const windowOf = (a) => a.requested_window
  ? [Date.parse(a.requested_window.start), Date.parse(a.requested_window.end)] : null;

const customerOf = (a) => (a.customer && (a.customer.name || a.customer.address)) || a.id;

function describe(a) {
  const w = a.requested_window;
  const when = w ? a.requested_window.clock_text : C.t("no window");
  return { title: customerOf(a) + " · " + C.t(a.trade), when, progress: C.t(progressOf(a, data.visits)) };
}

/** The day's orders, those waiting for a technician and their visits, from
 * the server's board (every order of that day, however long ago taken). */
async function load() {
  const [board, technicians] = await Promise.all([
    C.api("GET", "/api/board?day=" + encodeURIComponent(day)),
    C.api("GET", "/api/technicians"),
  ]);
  data = { assignments: board.assignments, technicians: technicians.filter((x) => x.active), visits: board.visits };
}

/** Loads and draws the board (the tab's loader). */
export async function showBoard() {
  if (!day) day = dateOf(zone(), Date.now());
  $("#board-day").value = day;
  await load();
  draw();
}

/** Refetches and patches the board in place (live updates). */
export async function refreshBoard() {
  if ($("[data-view=dayboard]").hidden) return;
  await load();
  draw();
}

function lane(tech) {
  const id = "lane-" + tech.id;
  let row = document.getElementById(id);
  if (!row) {
    row = document.createElement("li");
    row.id = id;
    row.className = "lane";
    row.dataset.technician = tech.id;
    const name = document.createElement("h3");
    name.className = "lane-name";
    const track = document.createElement("div");
    track.className = "lane-track";
    track.addEventListener("dragover", (ev) => { ev.preventDefault(); ev.dataTransfer.dropEffect = "move"; });
    track.addEventListener("drop", (ev) => onDrop(ev, tech.id, track));
    row.append(name, track);
  }
  row.querySelector(".lane-name").textContent = tech.name;
  return row;
}

function block(a, [start, end], dayStart) {
  let b = document.querySelector(`.block[data-assignment="${CSS.escape(a.id)}"]`);
  if (!b) {
    b = document.createElement("button");
    b.type = "button";
    b.className = "block";
    b.draggable = true;
    b.dataset.assignment = a.id;
    b.addEventListener("dragstart", (ev) => {
      ev.dataTransfer.setData("text/plain", a.id);
      ev.dataTransfer.effectAllowed = "move";
      const grab = ev.clientX - b.getBoundingClientRect().left;
      b.dataset.grab = String(Math.max(0, grab));
    });
    b.addEventListener("click", () => moveWithPicker(b.dataset.assignment));
    const title = document.createElement("span"); title.className = "block-title";
    const when = document.createElement("span"); when.className = "block-when";
    const progress = document.createElement("span"); progress.className = "block-progress";
    b.append(title, when, progress);
  }
  const d = describe(a);
  b.querySelector(".block-title").textContent = d.title;
  b.querySelector(".block-when").textContent = d.when;
  b.querySelector(".block-progress").textContent = d.progress;
  b.dataset.progress = progressOf(a, data.visits);
  b.dataset.version = a.version;
  b.setAttribute("aria-label", [d.title, d.when, d.progress].join(C.t(", ")));
  const from = Math.max(0, (start - dayStart) / 60000);
  b.style.left = from * PX_PER_MINUTE + "px";
  b.style.width = Math.max(SNAP_MINUTES * 3, (end - start) / 60000) * PX_PER_MINUTE + "px";
  return b;
}

/**
 * Overlapping jobs of one technician (double-booked) sit in rows of their
 * own, each whole and clickable, never one over the other; the lane grows
 * to hold them and says it holds an overlap.
 */
function stack(track, blocks) {
  const ends = []; // per row, where its last block ends (px)
  const placed = blocks
    .map((b) => ({ b, left: parseFloat(b.style.left) || 0, right: (parseFloat(b.style.left) || 0) + (parseFloat(b.style.width) || 0) }))
    .sort((x, y) => x.left - y.left || x.right - y.right);
  for (const p of placed) {
    let row = ends.findIndex((end) => end <= p.left);
    if (row < 0) { row = ends.length; ends.push(0); }
    ends[row] = p.right;
    p.b.style.setProperty("--row", String(row)); // dispatch.css places the rows
  }
  for (const p of placed) {
    const overlapping = placed.some((q) => q !== p && q.left < p.right && p.left < q.right);
    p.b.classList.toggle("overlaps", overlapping);
  }
  track.style.setProperty("--rows", String(Math.max(1, ends.length)));
  track.closest(".lane").classList.toggle("double-booked", ends.length > 1);
}

function draw() {
  const focused = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.assignment : null;
  const [dayStart, dayEnd] = dayBounds(zone(), day);
  const lanes = $("#lanes");
  const wanted = new Set();
  for (const tech of data.technicians) {
    const row = lane(tech);
    if (row.parentNode !== lanes || lanes.children[wanted.size] !== row) lanes.insertBefore(row, lanes.children[wanted.size] || null);
    wanted.add(row.id);
    const track = row.querySelector(".lane-track");
    const keep = new Set();
    for (const a of data.assignments) {
      const w = windowOf(a);
      // Cancelled work stays on the board only while its visit's conflict waits.
      const cancelled = a.status === "cancelled" && progressOf(a, data.visits) !== "conflict";
      if (a.technician !== tech.id || !w || cancelled || a.status === "open"
        || a.status === "handed_back" || w[1] <= dayStart || w[0] >= dayEnd) continue;
      const b = block(a, w, dayStart);
      if (b.parentNode !== track) track.appendChild(b);
      keep.add(b);
    }
    for (const b of [...track.children]) if (!keep.has(b)) b.remove();
    stack(track, [...keep]);
    row.classList.toggle("empty", keep.size === 0);
  }
  for (const row of [...lanes.children]) if (!wanted.has(row.id)) row.remove();
  drawAxis(dayStart, dayEnd);
  drawUnassigned();
  scrollToWork();
  if (focused) {
    const again = document.querySelector(`[data-assignment="${CSS.escape(focused)}"]`);
    if (again && document.activeElement !== again) again.focus();
  }
}

let scrolledFor = null;
/** On a newly shown day, scrolls the lanes to an hour before its first work (else 07:00). */
function scrollToWork() {
  if (scrolledFor === day) return;
  scrolledFor = day;
  const starts = [...document.querySelectorAll("#lanes .block")].map((b) => parseFloat(b.style.left) || 0);
  const first = starts.length ? Math.min(...starts) : 7 * 60 * PX_PER_MINUTE + 60 * PX_PER_MINUTE;
  // On a whole hour, so the hour at the edge shows its label.
  const hour = 60 * PX_PER_MINUTE;
  $("#board-scroll").scrollLeft = Math.max(0, Math.floor((first - hour) / hour) * hour);
  hideCoveredHours();
}

// The axis: a corner cell above the names (sticky and opaque, like the
// names' column) and the hour labels above the lanes' tracks.
function drawAxis(dayStart, dayEnd) {
  const axis = $("#board-axis");
  const hours = Math.round((dayEnd - dayStart) / 3600000);
  let track = axis.querySelector(".axis-track");
  if (track && track.childElementCount === hours) return;
  const corner = document.createElement("span");
  corner.className = "axis-corner";
  track = document.createElement("span");
  track.className = "axis-track";
  axis.replaceChildren(corner, track);
  for (let h = 0; h < hours; h++) {
    const tick = document.createElement("span");
    tick.textContent = clock(zone(), dayStart + h * 3600000);
    tick.style.left = h * 60 * PX_PER_MINUTE + "px";
    tick.dataset.at = String(h * 60 * PX_PER_MINUTE);
    track.appendChild(tick);
  }
  hideCoveredHours();
}

/**
 * Hides the hour labels that start under the names' column when the board
 * is scrolled sideways: a label cut in half ("7:00" of 17:00) misleads.
 */
function hideCoveredHours() {
  const shown = $("#board-scroll").scrollLeft;
  for (const tick of document.querySelectorAll("#board-axis .axis-track span")) {
    tick.classList.toggle("covered", Number(tick.dataset.at) < shown - 0.5);
  }
}
let hoursQueued = false;
$("#board-scroll").addEventListener("scroll", () => {
  if (hoursQueued) return;
  hoursQueued = true;
  requestAnimationFrame(() => { hoursQueued = false; hideCoveredHours(); });
}, { passive: true });

function drawUnassigned() {
  const list = $("#unassigned-list");
  const waiting = data.assignments.filter((a) => a.status === "open" || a.status === "handed_back");
  const keep = new Set();
  for (const a of waiting) {
    let li = list.querySelector(`li[data-assignment="${CSS.escape(a.id)}"]`);
    if (!li) {
      li = document.createElement("li");
      li.dataset.assignment = a.id;
      li.draggable = true;
      li.addEventListener("dragstart", (ev) => { ev.dataTransfer.setData("text/plain", a.id); delete li.dataset.grab; });
      const text = document.createElement("span");
      const assign = document.createElement("button");
      assign.type = "button";
      assign.className = "assign";
      assign.addEventListener("click", () => moveWithPicker(a.id));
      li.append(text, assign);
    }
    const d = describe(a);
    li.firstChild.textContent = `${d.title} · ${d.when}` + (a.status === "handed_back" ? " · " + C.t("handed_back") : "");
    li.lastChild.textContent = C.t("Assign");
    li.lastChild.setAttribute("aria-label", C.t("Assign {customer}", { customer: customerOf(a) }));
    list.appendChild(li);
    keep.add(li);
  }
  for (const li of [...list.children]) if (!keep.has(li)) li.remove();
  $("#unassigned-count").textContent = String(waiting.length);
}

const find = (id) => data.assignments.find((a) => a.id === id);

function onDrop(ev, technician, track) {
  ev.preventDefault();
  const id = ev.dataTransfer.getData("text/plain");
  const a = find(id);
  if (!a) return;
  const dragged = document.querySelector(`.block[data-assignment="${CSS.escape(id)}"]`);
  const grab = dragged && dragged.dataset.grab ? Number(dragged.dataset.grab) : 0;
  const x = ev.clientX - track.getBoundingClientRect().left - grab;
  const minutes = Math.max(0, Math.round(x / PX_PER_MINUTE / SNAP_MINUTES) * SNAP_MINUTES);
  move(a, technician, instantOf(zone(), day, Math.min(minutes, 24 * 60 - SNAP_MINUTES)))
    .catch((e) => C.flash(e.message, true));
}

/** Keyboard and click path: the picker dialog chooses technician and start. */
async function moveWithPicker(id) {
  const a = find(id);
  if (!a) return;
  const w = windowOf(a);
  const shown = w && dateOf(zone(), w[0]) === day ? minutesInto(zone(), day, w[0]) : null;
  const chosen = await pickFor(a, { day, startMinutes: shown });
  if (!chosen) return;
  // An unchanged start keeps the window as it is (to the second).
  const start = chosen.startMinutes == null || chosen.startMinutes === shown ? null
    : instantOf(zone(), day, chosen.startMinutes);
  await move(a, chosen.technician.id, start).catch((e) => C.flash(e.message, true));
}

/**
 * Gives `a` to `technician` and/or moves its window to start at `startMs`
 * (keeping its length), each with the version the board last saw.
 */
export async function move(a, technician, startMs) {
  let version = a.version;
  const who = data.technicians.find((x) => x.id === technician);
  const name = who ? who.name : technician;
  const done = [];
  try {
    if (a.status === "open") {
      version = (await C.api("POST", `/api/assignments/${encodeURIComponent(a.id)}/assign`, { technician, expected_version: version })).version;
      done.push(C.t("{customer} assigned to {name}", { customer: customerOf(a), name }));
    } else if (a.status === "handed_back" || a.technician !== technician) {
      version = (await C.api("POST", `/api/assignments/${encodeURIComponent(a.id)}/reassign`, { technician, expected_version: version })).version;
      done.push(C.t("{customer} reassigned to {name}", { customer: customerOf(a), name }));
    }
    const w = windowOf(a);
    if (startMs != null && (!w || w[0] !== startMs)) {
      const length = w ? w[1] - w[0] : 2 * 3600000;
      const moved = await C.api("PATCH", `/api/assignments/${encodeURIComponent(a.id)}`, {
        expected_version: version,
        requested_window: { start: new Date(startMs).toISOString(), end: new Date(startMs + length).toISOString() },
      });
      done.push(C.t("{customer} moved to {time}", { customer: customerOf(a), time: moved.requested_window.clock_text }));
    }
    if (done.length) C.flash(done.join(C.t("; ")));
  } catch (e) {
    if (e.code === "version_mismatch") {
      C.flash(C.t("{customer} was changed by someone else meanwhile: the board shows the latest now", { customer: customerOf(a) }), true);
    } else {
      C.flash(e.message, true);
    }
  }
  await load();
  draw();
}

C.loaders.dayboard = showBoard;
$("#board-day").addEventListener("change", () => {
  if ($("#board-day").value) { day = $("#board-day").value; showBoard().catch((e) => C.flash(e.message, true)); }
});
