// Live and loading states of the console: a change made by another party
// (a technician's phone through the `doorstep device` CLI, another
// dispatcher through the API) reaches the open visits list and the requests
// count without a reload, keeping the dispatcher's filter and never while
// they type; a screen says it is loading while its data is on the way; a
// banner says when the server cannot be reached and goes on recovery.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startServer, launchBrowser, openPage } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot, chineseProblems, orderFor } = require("./desk");

const { assertPhoneCli, runPhone, enrolSunsPhone } = require("./phone");
// What a browser logs when a request cannot go out (the tests cut the network on purpose).
const NETWORK_ERRORS = /ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|ERR_FAILED|ERR_NETWORK_CHANGED|Failed to fetch|Failed to load resource/;

let server;
let browser;
let dir;

before(async () => {
  assertPhoneCli();
  server = await startServer();
  browser = await launchBrowser();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "doorstep-phone-"));
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the technician's phone; its JSON output. */
const phone = (...args) => runPhone(path.join(dir, "phone.db"), ...args);

/** The number in the Requests tab's count (0 without one). */
async function queueCount(page) {
  const m = /\d+/.exec(await page.locator("#queue-count").textContent());
  return m ? Number(m[0]) : 0;
}

async function closeClean(session, allowed = []) {
  const errors = session.errors().filter((e) => !allowed.some((re) => re.test(e)));
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
}

test("a phone's request reaches the open visits list and the requests count without a reload", async () => {
  enrolSunsPhone(phone, "phone-sun-3", server, "孙浩的测试手机");
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page);
  const id = await orderFor(page, {
    trade: "heating_service", fault_description: "暖气不热",
    customer: { name: "周云", phone: "1391111", address: "徐汇区天平路 8 号" },
    product: { model: "壁挂炉 WB-20", purchase_date: "2025-01-01" },
  }, { technician: "T-sun" });

  // The dispatcher watches the visits of that one order (none yet).
  await openTab(page, "Visits");
  await page.locator("#visits tbody tr").first().waitFor();
  // The live stream is open (its status shows on the day board).
  await page.waitForFunction(() => document.getElementById("live-status").textContent === "live");
  await page.locator("#visit-filter").fill(id);
  await page.locator("#visit-filter").dispatchEvent("change");
  await page.locator("#visit-filter").blur();
  await page.locator("#visits tbody").getByText("nothing to show").waitFor();
  const before = await queueCount(page);

  // The phone takes the order and asks the center to verify the customer's phone.
  phone("sync");
  phone("apply", "--assignment", id, JSON.stringify({ type: "verify_with_center", fields: ["customer_phone"], note: "号码不全" }));
  phone("sync");

  // Without a reload: the visit shows, under the dispatcher's filter, by the technician's name …
  const row = page.locator("#visits tbody tr").filter({ hasText: id });
  await row.waitFor({ timeout: 15000 });
  assert.equal(await page.locator("#visit-filter").inputValue(), id, "the filter stays");
  assert.equal(await page.locator("#visits tbody tr").count(), 1, "only the filtered order's visits");
  assert.match(await row.textContent(), /孙浩/);
  // … and the requests count has grown.
  await page.waitForFunction((n) => {
    const m = /\d+/.exec(document.querySelector("#queue-count").textContent);
    return (m ? Number(m[0]) : 0) === n + 1;
  }, before, { timeout: 15000 });
  assert.equal(await page.locator("#loading").isVisible(), false, "a live re-read shows no loading note");

  // The open visit's detail follows the phone too: its call to the customer adds a fact.
  await row.click();
  await page.locator("#visit-detail h3").filter({ hasText: await row.getAttribute("data-visit") }).waitFor();
  const facts = page.locator("#visit-detail tr").filter({ has: page.locator("th", { hasText: /^Events$/ }) }).locator("td");
  const factsBefore = Number(await facts.textContent());
  const historyBefore = await page.locator("#visit-history li").count();
  phone("apply", "--assignment", id, JSON.stringify({ type: "log_call", outcome: "reached" }));
  phone("sync");
  await page.waitForFunction((n) => {
    const th = [...document.querySelectorAll("#visit-detail th")].find((h) => h.textContent === "Events");
    return th && Number(th.nextElementSibling.textContent) > n;
  }, factsBefore, { timeout: 15000 });
  assert.ok(await page.locator("#visit-history li").count() > historyBefore, "the new fact in the visit's history");

  // While the dispatcher types in a field, a change waits; it comes on leaving the field.
  await page.locator("#visits tbody tr").evaluateAll((rows) => rows.forEach((tr) => { tr.dataset.drawn = "before"; }));
  await page.locator("#visit-filter").focus();
  const other = await openPage(browser, server.url);
  await signIn(other.page);
  await other.page.evaluate(async (id) => {
    const headers = { authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "content-type": "application/json" };
    const a = await (await fetch("/api/assignments/" + id, { headers })).json();
    const res = await fetch("/api/assignments/" + id, { method: "PATCH", headers,
      body: JSON.stringify({ notes: "客户改约下午", expected_version: a.version }) });
    if (!res.ok) throw new Error(await res.text());
  }, id);
  await closeClean(other);
  await page.waitForTimeout(3000); // a change event comes within a second or two
  assert.equal(await page.locator("#visits tbody tr[data-drawn=before]").count(), 1, "no re-read while typing");
  await page.locator("#visit-filter").blur();
  await page.waitForFunction(() => document.querySelectorAll("#visits tbody tr[data-drawn=before]").length === 0, null, { timeout: 10000 });
  await row.waitFor();
  await closeClean(session);
});

test("a new work order reaches the shown work orders without a reload", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page); // the work orders ("Board") are the first screen
  await page.waitForFunction(() => document.getElementById("live-status").textContent === "live");
  const other = await openPage(browser, server.url);
  await signIn(other.page);
  const id = await other.page.evaluate(async () => {
    const headers = { authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "content-type": "application/json" };
    const start = new Date(Date.now() + 5 * 3600e3);
    const res = await fetch("/api/assignments", { method: "POST", headers, body: JSON.stringify({
      trade: "water_delivery", fault_description: "送两桶水",
      customer: { name: "钱进", phone: "1392222", address: "静安区南京西路 99 号" },
      order: [{ item: "bottle_18_9l", qty: 2 }],
      requested_window: { start: start.toISOString(), end: new Date(start.getTime() + 7200e3).toISOString() },
    }) });
    if (!res.ok) throw new Error(await res.text());
    return (await res.json()).id;
  });
  await closeClean(other);
  // Well before the board's 15-second timer: the live stream brought it.
  await page.locator("#board tbody tr").filter({ hasText: id }).waitFor({ timeout: 8000 });
  await closeClean(session);
});

test("a screen says it is loading while its data is on the way, in both languages", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page);
  for (const [tab, text] of [["Visits", "Loading…"], ["上门记录", "正在加载…"]]) {
    if (tab === "上门记录") {
      await page.getByRole("button", { name: "中文" }).click();
      await openTab(page, "工单看板");
      await page.locator("#loading").waitFor({ state: "hidden" });
    } else {
      await openTab(page, "Board");
    }
    // The visits are held back until the test lets them go.
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route("**/api/visits*", async (route) => { await held; await route.continue(); });
    await openTab(page, tab);
    const note = page.locator("#loading");
    await note.waitFor();
    assert.equal(await note.textContent(), text);
    assert.equal(await page.locator("[data-view=visits]").getAttribute("aria-busy"), "true");
    assert.equal(await page.locator("#visits tbody").getByText(/nothing to show|无内容/).count(), 0,
      "no empty table that reads as no data");
    await assertAccessible(page, `loading ${tab}`);
    await screenshot(page, tab === "Visits" ? "loading-en" : "loading-zh");
    release();
    await note.waitFor({ state: "hidden" });
    await page.locator("#visits tbody tr[data-visit]").first().waitFor();
    assert.equal(await page.locator("[data-view=visits]").getAttribute("aria-busy"), "false");
    await page.unroute("**/api/visits*");
  }
  await closeClean(session);
});

test("a banner says the server cannot be reached, in the dispatcher's language, and goes on recovery", async () => {
  const session = await openPage(browser, server.url);
  const { page, context } = session;
  await signIn(page, { zh: true });
  await openTab(page, "上门记录");
  await page.locator("#visits tbody tr[data-visit]").first().waitFor();
  const banner = page.locator("#offline");
  assert.equal(await banner.isVisible(), false);

  for (const [lang, expected, refresh] of [
    ["zh", "与服务器的连接已断开，正在重试…", "刷新"],
    ["en", "The connection to the server is lost: retrying…", "Refresh"],
  ]) {
    if (lang === "en") await page.getByRole("button", { name: "English" }).click();
    await context.setOffline(true);
    await page.locator("[data-view=visits]").getByRole("button", { name: refresh }).click();
    await banner.waitFor();
    assert.equal(await banner.textContent(), expected);
    assert.equal(await banner.getAttribute("role"), "alert");
    if (lang === "zh") {
      const flash = await page.locator("#flash").textContent();
      assert.equal(flash, "无法连接服务器");
      assert.deepEqual(chineseProblems(await page.locator("body").innerText()), []);
    }
    await assertAccessible(page, `the offline banner (${lang})`);
    await screenshot(page, `offline-${lang}`);
    // Back online: the banner goes by itself and the screen is read again.
    await page.locator("#visits tbody tr[data-visit]").first().evaluate((tr) => { tr.dataset.drawn = "before"; });
    await context.setOffline(false);
    await banner.waitFor({ state: "hidden", timeout: 10000 });
    await page.waitForFunction(() => !document.querySelector("#visits tbody tr[data-drawn]")
      && document.querySelectorAll("#visits tbody tr[data-visit]").length > 0);
    assert.equal(await page.locator("#flash").textContent(), "", "the failure's message goes with the banner");
  }
  await closeClean(session, [NETWORK_ERRORS]);
});

test("the banner shows when the live stream drops because the server is gone", async () => {
  const own = await startServer();
  const session = await openPage(browser, own.url);
  const { page } = session;
  try {
    await signIn(page);
    await openTab(page, "Day board");
    await page.locator("#live-status").getByText("live").waitFor();
    assert.equal(await page.locator("#offline").isVisible(), false);
    await own.stop();
    await page.locator("#offline").getByText("The connection to the server is lost: retrying…").waitFor({ timeout: 10000 });
    await page.locator("#live-status").getByText("reconnecting…").waitFor();
  } finally {
    await own.stop();
  }
  await closeClean(session, [NETWORK_ERRORS]);
});
