// Live updates: reads the server-sent event stream GET /api/live (with the
// session's bearer token, so through fetch rather than EventSource, which
// cannot send one) and, on each `change`, patches the board in place and
// announces the change to the rest of the console (`doorstep:change` on
// window). Reconnects by itself after the server's `retry` delay, sending
// the last event id (Last-Event-ID) so a change missed meanwhile arrives at once.
import { refreshBoard } from "./board.js";

const C = window.doorstepConsole;
const status = () => document.getElementById("live-status");
let lastId = null;
let running = false;
let up = null;
// The stream being read: aborted when the dispatcher signs out (the server
// also ends a stream whose session has ended).
let current = null;

function setStatus(isUp) {
  up = isUp;
  if (isUp) C.connectionBack();
  const s = status();
  s.textContent = C.t(isUp ? "live" : "reconnecting…");
  s.classList.toggle("down", !isUp);
}
C.onLanguage.push(() => { if (up !== null) setStatus(up); });

function dispatch(kind, id, data) {
  if (id) lastId = id;
  if (kind !== "change" && kind !== "hello") return;
  const mark = data ? JSON.parse(data) : {};
  if (kind === "change") refreshBoard().catch((e) => C.flash(e.message, true));
  window.dispatchEvent(new CustomEvent("doorstep:change", { detail: mark }));
}

/** Reads one stream until it ends; resolves to the retry delay (ms). */
async function readStream() {
  const headers = { authorization: "Bearer " + C.token(), accept: "text/event-stream" };
  if (lastId) headers["last-event-id"] = lastId;
  current = new AbortController();
  const res = await fetch("/api/live", { headers, signal: current.signal });
  if (!res.ok || !res.body) throw Object.assign(new Error("live stream refused: " + res.status), { refused: true });
  setStatus(true);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", retry = 3000;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return retry;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
      let kind = "message", id = null; const data = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue; // a comment (keep-alive)
        const field = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") kind = v; else if (field === "data") data.push(v);
        else if (field === "id") id = v; else if (field === "retry" && /^\d+$/.test(v)) retry = Number(v);
      }
      if (data.length || id) dispatch(kind, id, data.join("\n"));
    }
  }
}

async function run() {
  if (running) return;
  running = true;
  while (C.signedIn()) {
    let wait = 3000, refused = false;
    try { wait = await readStream(); } catch (e) { refused = Boolean(e.refused); /* reconnect below */ }
    if (!C.signedIn()) break;
    setStatus(false);
    // The stream dropped or could not be opened: the server is out of reach
    // (a refusal, by contrast, came from a server that answers).
    if (!refused) C.connectionLost();
    await new Promise((r) => setTimeout(r, wait));
  }
  running = false;
}

// Starts once signed in (and again after signing in anew); stops reading
// at once when signed out.
setInterval(() => {
  if (C.signedIn()) { if (!running) run(); } else if (current) { current.abort(); current = null; }
}, 1000);
