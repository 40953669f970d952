// The log scan of the console tests' servers (PIPL; docs/PIPL.md, "Logs and
// error texts"): the rules of server/tests/server/log_scan.rs in JS. A
// server's output must hold no mainland mobile number (contiguous, spaced or
// dashed: `138 0013 8000`, `+86 186-0021-3344`) and none of its customers'
// phones or addresses; `customersOf` reads those from the server (every
// order's page) and from the demo data (server/src/demo.rs).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

/** What the scanned servers log: the production default and their own debug lines. */
const SCAN_FILTER = "info,doorstep_server=debug";

const isDigit = (c) => c !== undefined && c >= "0" && c <= "9";
/** Whether `c` continues a word (an id, a hex token, a name). */
const wordy = (c) => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** The mobile number `digits` is (without its 86/0086), or null. */
function mobile(digits) {
  let d = digits;
  for (const prefix of ["0086", "86"]) {
    if (d.startsWith(prefix) && d.length - prefix.length === 11) { d = d.slice(prefix.length); break; }
  }
  return /^1[3-9]\d{9}$/.test(d) ? d : null;
}

/**
 * Every number that could be a phone in `line`: each run of digits that
 * stands alone (no letter, underscore or digit-dot touching it), and each
 * sequence of up to four such runs of two or more digits joined by single
 * spaces or dashes, as their digits.
 */
function numbers(line) {
  const out = [];
  let chain = [];
  const flush = () => {
    for (let i = 0; i < chain.length; i++) {
      let digits = "";
      for (let k = 0; k < 4 && i + k < chain.length; k++) {
        const [s, e] = chain[i + k];
        if (k > 0 && (e - s < 2 || chain[i][1] - chain[i][0] < 2)) break;
        digits += line.slice(s, e);
        out.push(digits);
      }
    }
    chain = [];
  };
  let i = 0;
  while (i < line.length) {
    if (!isDigit(line[i])) { i++; continue; }
    const s = i;
    while (i < line.length && isDigit(line[i])) i++;
    const e = i;
    const decimalBefore = s >= 2 && line[s - 1] === "." && isDigit(line[s - 2]);
    const decimalAfter = line[e] === "." && isDigit(line[e + 1]);
    const alone = !wordy(line[s - 1]) && !wordy(line[e]) && !decimalBefore && !decimalAfter;
    if (!alone) { flush(); continue; }
    const last = chain[chain.length - 1];
    const joined = last && last[1] + 1 === s && (line[last[1]] === " " || line[last[1]] === "-");
    if (!joined) flush();
    chain.push([s, e]);
  }
  flush();
  return out;
}

/** `phone` as the scan compares it: its digits, a mobile number without its country code. */
function normalisedPhone(phone) {
  const d = String(phone).replace(/\D/g, "");
  return mobile(d) || d;
}

/** The mainland mobile numbers in `text`, each once a line, in order. */
function mobileNumbers(text) {
  const found = [];
  for (const line of text.split(/\r?\n/)) {
    const inLine = new Set();
    for (const n of numbers(line)) {
      const m = mobile(n);
      if (m && !inLine.has(m)) { inLine.add(m); found.push(m); }
    }
  }
  return found;
}

/** Empty customers, to add to. */
const noCustomers = () => ({ phones: new Set(), addresses: new Set() });

/** Adds a customer's phone and address (either may be missing; too short to mean anything is left out). */
function addCustomer(customers, { phone, address } = {}) {
  if (typeof phone === "string") {
    const d = normalisedPhone(phone);
    if (d.length >= 7) customers.phones.add(d);
  }
  if (typeof address === "string" && [...address.trim()].length >= 3) customers.addresses.add(address.trim());
  return customers;
}

/** The lines of `text` holding a mobile number or a customer's phone or address: [{ what, line }]. */
function leaks(text, customers) {
  const present = [...customers.addresses].filter((a) => text.includes(a));
  const found = [];
  for (const line of text.split(/\r?\n/)) {
    const what = new Set();
    for (const n of numbers(line)) {
      const m = mobile(n);
      if (m) what.add(`mobile number ${m}`);
      else if (customers.phones.has(n)) what.add(`customer phone ${n}`);
    }
    for (const a of present) if (line.includes(a)) what.add(`customer address ${JSON.stringify(a)}`);
    if (what.size) found.push({ what: [...what].sort().join(", "), line });
  }
  return found;
}

/** The demo's customers (server/src/demo.rs, its REQUESTS: trade, name, phone, address, ...). */
function demoCustomers(customers = noCustomers()) {
  const src = fs.readFileSync(path.join(__dirname, "../server/src/demo.rs"), "utf8");
  const start = src.indexOf("const REQUESTS");
  const block = src.slice(start, src.indexOf("];", start));
  let n = 0;
  for (const m of block.matchAll(/\(\s*"[a-z_]+",\s*"[^"]*",\s*"([^"]*)",\s*"([^"]*)",/g)) {
    addCustomer(customers, { phone: m[1], address: m[2] });
    n++;
  }
  if (start < 0 || n === 0) throw new Error("no demo customers found in server/src/demo.rs (REQUESTS): update console-tests/logscan.js");
  return customers;
}

/**
 * Every customer the server at `url` holds, read as a dispatcher would (each
 * order's own page, where the phone is in full), added to the demo's.
 */
async function customersOf(url, password) {
  const customers = demoCustomers();
  let token = null;
  const failures = [];
  for (const username of ["li.na", "zhang.wei"]) {
    const res = await fetch(new URL("api/login", url), { method: "POST",
      headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
    if (res.ok) { token = (await res.json()).token; break; }
    failures.push(`${username}: ${res.status}`);
  }
  if (!token) throw new Error(`the log scan could not sign in to read the customers (${failures.join(", ")})`);
  const get = async (p) => {
    const res = await fetch(new URL(p, url), { headers: { authorization: "Bearer " + token } });
    if (!res.ok) throw new Error(`the log scan could not read ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  for (const listed of await get("api/assignments?limit=2000")) {
    const order = await get(`api/assignments/${encodeURIComponent(listed.id)}`);
    addCustomer(customers, order.customer || {});
  }
  return customers;
}

module.exports = { SCAN_FILTER, mobileNumbers, normalisedPhone, noCustomers, addCustomer, leaks, demoCustomers, customersOf };
