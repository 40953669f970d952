// Starts a real doorstep-server with the demo data on an ephemeral port and a
// headless Chromium (Debian's, never a downloaded one) for the console tests.
// Stopping a server scans its output for phones and addresses (logscan.js).
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { chromium } = require("playwright-core");
const { SCAN_FILTER, customersOf, demoCustomers, leaks } = require("./logscan");
const { PASSWORD } = require("./desk");

const SERVER_BIN = path.resolve(__dirname,
  process.env.DOORSTEP_SERVER_BIN || "../target/debug/doorstep-server");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/**
 * Starts the server (with `env` added to its environment, listening on
 * `listen`, by default any free port); resolves to { url, stop(), output() } once it listens.
 * It logs at the production level and more (`SCAN_FILTER`, unless RUST_LOG
 * says otherwise). `stop()` first reads every customer the server holds,
 * then kills it and scans its stdout and stderr: it rejects, naming each
 * line, when one holds a mobile number or a customer's phone or address
 * (PIPL; docs/PIPL.md), which fails the test file.
 */
function startServer(env = {}, { listen = "127.0.0.1:0" } = {}) {
  if (!fs.existsSync(SERVER_BIN)) {
    throw new Error(`no server binary at ${SERVER_BIN}: build it (cargo build -p doorstep-server) or set DOORSTEP_SERVER_BIN`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "doorstep-console-"));
  const child = spawn(SERVER_BIN, ["--listen", listen, "--data-dir", dataDir, "--demo"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: Object.assign({}, process.env, { RUST_LOG: process.env.RUST_LOG || SCAN_FILTER }, env),
  });
  const lines = [];
  // Each stream on its own too, for the scan: a chunk of stderr may end
  // inside a line.
  const streams = { out: [], err: [] };
  // Keep draining both streams for the server's whole life, so it never
  // blocks on a full pipe; the lines help explain a failure and are scanned.
  child.stderr.on("data", (d) => { lines.push(String(d)); streams.err.push(String(d)); });
  const out = readline.createInterface({ input: child.stdout });
  let exited = false;
  let url = null;
  // Closed: exited and both streams read to their end.
  const closed = new Promise((resolve) => child.once("close", resolve));
  const kill = async () => {
    if (!exited) child.kill("SIGKILL");
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10000).unref())]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  let stopped = null;
  const stop = () => stopped || (stopped = (async () => {
    let customers;
    let unread = null;
    try {
      customers = url && !exited ? await customersOf(url, PASSWORD) : demoCustomers();
    } catch (e) {
      unread = e;
      customers = demoCustomers();
    }
    await kill();
    const found = leaks(streams.out.join("") + "\n" + streams.err.join(""), customers);
    if (found.length) {
      throw new Error(`the server's output leaks personal data (PIPL, docs/PIPL.md):\n${
        found.slice(0, 20).map((l) => `  ${l.what}: ${l.line}`).join("\n")}${
        found.length > 20 ? `\n  ... and ${found.length - 20} more` : ""}`);
    }
    if (unread) throw unread;
  })());
  const ready = new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      exited = true;
      reject(new Error(`doorstep-server exited (${code ?? signal}) before listening:\n${lines.join("")}`));
    });
    out.on("line", (line) => {
      lines.push(line + "\n");
      streams.out.push(line + "\n");
      const m = /^Doorstep server listening on (http:\/\/\S+\/)$/.exec(line);
      if (m) { url = m[1]; resolve({ url, stop, output: () => lines.join("") }); }
    });
  });
  return ready.catch(async (e) => { await kill(); throw e; });
}

async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/**
 * A fresh page (own context, so its own sessionStorage) that records page
 * errors and console errors; `errors()` returns them. The browser's locale
 * and clock are a dispatcher's in the business zone unless `options` say
 * otherwise (`{ timezoneId: "Europe/Berlin" }`).
 */
async function openPage(browser, url, options = {}) {
  const context = await browser.newContext(Object.assign({ locale: "en-US", timezoneId: "Asia/Shanghai" }, options));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push("console.error: " + m.text()); });
  await page.goto(url);
  return { page, context, errors: () => errors.slice() };
}

/**
 * A business time zone (`Etc/GMT±N`) in which it is now between 09:00 and
 * 10:00. The demo lays its day out from the clock (served this morning,
 * waiting later today), so a test that drags blocks on the day board sees
 * the same day whenever it runs.
 */
function morningZone(now = new Date()) {
  let offset = 9 - now.getUTCHours();
  if (offset < -12) offset += 24;
  if (offset === 0) return "Etc/UTC";
  // POSIX sign: Etc/GMT-8 is eight hours east of Greenwich.
  return `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
}

/**
 * One server and one browser for a test file and a fresh page for each
 * test, which fails on the page's errors and console errors. Give it the
 * file's `node:test` hooks; `suite.server` and `suite.session` are the
 * current ones. `suite.expectRefusals(400, 409)` lets the current test
 * provoke those statuses (the browser logs each as a failed load).
 */
function browserSuite({ before, after, beforeEach, afterEach }) {
  const assert = require("node:assert/strict");
  const suite = {
    server: null,
    browser: null,
    session: null,
    expectRefusals(...statuses) {
      const refused = new RegExp(`status of (${statuses.join("|")})`);
      const all = suite.session.errors;
      suite.session.errors = () => all().filter((e) => !refused.test(e));
    },
  };
  before(async () => {
    suite.server = await startServer();
    suite.browser = await launchBrowser();
  });
  after(async () => {
    if (suite.browser) await suite.browser.close();
    if (suite.server) await suite.server.stop();
  });
  beforeEach(async () => { suite.session = await openPage(suite.browser, suite.server.url); });
  afterEach(async () => {
    const errors = suite.session.errors();
    await suite.session.context.close();
    assert.deepEqual(errors, [], "no page errors or console errors");
  });
  return suite;
}

module.exports = { startServer, launchBrowser, openPage, morningZone, browserSuite };
