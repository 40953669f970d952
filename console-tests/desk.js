// Shared steps of the desk's browser tests (work orders, requests, search,
// the Chinese walk): signing in, tabs by their names, the axe check, the
// 390 px check and screenshots.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const PASSWORD = "doorstep-demo";
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const SHOTS = path.join(__dirname, "screenshots");

async function signIn(page, { username = "li.na", zh = false } = {}) {
  if (zh) await page.getByRole("button", { name: "中文" }).click();
  await page.getByLabel(zh ? "用户名" : "Username").fill(username);
  await page.getByLabel(zh ? "密码" : "Password").fill(PASSWORD);
  await page.getByRole("button", { name: zh ? "登录" : "Log in" }).click();
  await page.locator("#board tbody tr").first().waitFor();
  await page.locator("#who").filter({ hasText: username }).waitFor();
}

/** Opens a tab by its (translated) name; a count may follow the name. */
async function openTab(page, name) {
  await page.locator("nav").getByRole("button", { name: new RegExp("^" + name + "(\\s|（|\\(|$)") }).click();
}

/** Fails on any axe-core violation of the page as it stands. */
async function assertAccessible(page, what) {
  await page.evaluate(AXE); // evaluated, not injected: the console's CSP allows no inline script
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"], runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join("; ")})`);
  });
  assert.deepEqual(violations, [], `axe violations on ${what}`);
}

/** Saves a screenshot under console-tests/screenshots/. */
async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

/** The page fits a 390 px wide phone without sideways scrolling. */
async function assertFitsPhone(page, what) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `${what} is ${width} px wide at 390 px`);
}

/**
 * What a Chinese screen must not show: a raw code (`cancelled_after_start`),
 * ASCII punctuation beside Chinese, or English words in a message.
 */
function chineseProblems(text) {
  const problems = [];
  for (const m of text.matchAll(/[a-z]+_[a-z_]+/g)) problems.push("raw code " + m[0]);
  for (const m of text.matchAll(/[\u4e00-\u9fff][:;,?!()]|[:;,?!(][\u4e00-\u9fff]/g)) problems.push("ASCII punctuation in " + m[0]);
  return problems;
}

/**
 * Times the console did not take from the server's reading of them
 * (`…_text`, the core's words): a raw RFC 3339 time, raw Unix milliseconds,
 * or a browser's locale format ("2026/12/3 09:00:00", "12/3/2026, 9:00 AM").
 */
function timeProblems(text) {
  const problems = [];
  for (const m of text.matchAll(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/g)) problems.push("raw RFC 3339 time " + m[0]);
  for (const m of text.matchAll(/(?<!\d)1\d{12}(?!\d)/g)) problems.push("raw Unix ms " + m[0]);
  for (const m of text.matchAll(/\d{1,4}\/\d{1,2}\/\d{1,4},? \d{1,2}:\d{2}/g)) problems.push("browser-formatted time " + m[0]);
  return problems;
}

/** A two-hour window starting at `start` (a Date), as the API takes it. */
const windowFrom = (start) => ({ start: start.toISOString(), end: new Date(start.getTime() + 7200e3).toISOString() });

/**
 * A work order set up through the API by the signed-in page (what a test
 * needs in place, not what it tests: picking and intake have tests of their
 * own), with `order`'s fields and a window starting `start` (default: in
 * three hours), given to `technician` when named; its id.
 */
async function orderFor(page, order, { technician, start = new Date(Date.now() + 3 * 3600e3) } = {}) {
  const body = Object.assign({ requested_window: windowFrom(start) }, order);
  return page.evaluate(async ([body, technician]) => {
    const headers = { authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "content-type": "application/json" };
    const res = await fetch("/api/assignments", { method: "POST", headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(await res.text());
    const a = await res.json();
    if (technician) {
      const assigned = await fetch(`/api/assignments/${a.id}/assign`, { method: "POST", headers, body: JSON.stringify({ technician }) });
      if (!assigned.ok) throw new Error(await assigned.text());
    }
    return a.id;
  }, [body, technician]);
}

module.exports = { PASSWORD, signIn, orderFor, openTab, assertAccessible, screenshot, assertFitsPhone, chineseProblems, timeProblems };
