// The dispatch board, the technician picker, the map and live updates in a
// real browser against a real server with the demo data (each test its own
// server, so their order does not matter). The servers run the business day
// of a zone where it is mid-morning now, so the demo's day (laid out from the
// clock) and the blocks the tests drag are where they expect whenever the
// tests run. Each test fails on page errors and on axe violations, and saves
// screenshots in English and Chinese.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { startServer, launchBrowser, openPage, morningZone } = require("./harness");
const { axeViolations } = require("./axe");

const PASSWORD = "doorstep-demo";
const SHOTS = path.join(__dirname, "screenshots");
let browser;
let server;
let session;
let zone;

before(async () => { browser = await launchBrowser(); });
after(async () => { if (browser) await browser.close(); });
beforeEach(async () => {
  zone = morningZone();
  server = await startServer({ DOORSTEP_BUSINESS_TIME_ZONE: zone });
  session = await openPage(browser, server.url);
});
afterEach(async () => {
  // Console errors a test expects (a refused request it provokes).
  const errors = session.errors().filter((e) => !(session.allowed || []).some((re) => re.test(e)));
  await session.context.close();
  await server.stop();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

async function signIn(page) {
  await page.getByLabel("Username").fill("li.na");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#who").getByText("li.na (dispatcher)").waitFor();
}

async function openTab(page, name) {
  await page.locator("nav").getByRole("button", { name, exact: true }).click();
}

/** Checks axe and saves a screenshot named `name-<lang>.png`. */
async function checkScreen(page, name, lang) {
  assert.deepEqual(await axeViolations(page), [], `axe on ${name} (${lang})`);
  await page.screenshot({ path: path.join(SHOTS, `${name}-${lang}.png`), fullPage: true });
}

/**
 * In Chinese, the visible text of `selector` shows no raw code
 * (`snake_case`) and no ASCII punctuation beside a Chinese character.
 */
async function assertChinese(page, selector) {
  const text = await page.locator(selector).innerText();
  assert.doesNotMatch(text, /[a-z]+_[a-z_]+/, `a raw code in ${selector}: ${text}`);
  assert.doesNotMatch(text, /[\u4e00-\u9fff][,.:;()!?]|[,.:;()!?][\u4e00-\u9fff]/, `ASCII punctuation beside Chinese in ${selector}: ${text}`);
}

async function switchLanguage(page, to) {
  await page.locator("#lang").click();
  await page.locator("html").and(page.locator(`[lang="${to}"]`)).waitFor();
}

const lane = (page, name) => page.locator(".lane").filter({ has: page.getByRole("heading", { name, exact: true }) });
const block = (page, customer) => page.locator(".block").filter({ hasText: customer });

/** The business date of a customer's window (the board's day input takes it). */
async function dayOf(page, customer) {
  return page.evaluate(async ([customer, zone]) => {
    const token = sessionStorage.getItem("doorstep.token");
    const all = await (await fetch("/api/assignments", { headers: { authorization: "Bearer " + token } })).json();
    const a = all.find((x) => x.customer && x.customer.name === customer);
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date(a.requested_window.start));
  }, [customer, zone]);
}

async function showDay(page, date) {
  await page.getByLabel("Day", { exact: true }).fill(date);
  await page.getByLabel("Day", { exact: true }).dispatchEvent("change");
}

test("the day board shows each technician's work with its window and visit progress in both languages", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Day board");
  // 宋英's carer arrived early and the customer cancelled: a conflict.
  const conflict = lane(page, "陈静").locator(".block").filter({ hasText: "宋英" });
  await conflict.waitFor();
  assert.match(await conflict.getAttribute("aria-label"), /^宋英 · home care, \d\d:\d\d–\d\d:\d\d, conflict$/);
  // 林涛's water waits for 赵敏, its time not yet confirmed.
  assert.match(await lane(page, "赵敏").locator(".block").filter({ hasText: "林涛" }).getAttribute("aria-label"), /not confirmed$/);
  // 徐刚's request waits unassigned in the side list.
  await page.locator("#unassigned-list").getByText(/徐刚/).waitFor();
  await checkScreen(page, "day-board", "en");
  // 黄梅's fridge was repaired this morning (by the business day of its window): done.
  await showDay(page, await dayOf(page, "黄梅"));
  const done = lane(page, "王磊").locator(".block").filter({ hasText: "黄梅" });
  await done.waitFor();
  assert.match(await done.getAttribute("aria-label"), /, done$/);
  await switchLanguage(page, "zh-CN");
  await page.getByRole("heading", { name: /调度看板/ }).waitFor();
  await lane(page, "王磊").locator(".block").filter({ hasText: "家电维修" }).first().waitFor();
  assert.match(await done.getAttribute("aria-label"), /，已完成$/);
  await assertChinese(page, "[data-view=dayboard]");
  await checkScreen(page, "day-board", "zh-CN");
});

test("another day's board shows the work booked for it weeks before, and not today's", async () => {
  const { page } = session;
  await signIn(page);
  // Three weeks ago the desk booked 温岚's boiler service with 刘洋 for the
  // day after tomorrow, 09:00-11:00 business time.
  const later = await page.evaluate(async (zone) => {
    const token = sessionStorage.getItem("doorstep.token");
    const headers = { authorization: "Bearer " + token, "content-type": "application/json" };
    const fmt = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(d);
    const day = fmt(new Date(Date.now() + 2 * 86400000));
    // 09:00 of that day in the zone: the UTC instant whose local time is 09:00.
    const guess = Date.parse(day + "T09:00:00Z");
    const local = new Date(new Date(guess).toLocaleString("en-US", { timeZone: zone }) + " UTC");
    const start = new Date(guess - (local.getTime() - guess));
    const techs = await (await fetch("/api/technicians", { headers })).json();
    const liu = techs.find((t) => t.name === "刘洋");
    const r = await fetch("/api/assignments", { method: "POST", headers, body: JSON.stringify({
      trade: "heating_service", received_at: new Date(Date.now() - 21 * 86400000).toISOString(),
      customer: { name: "温岚", phone: "138 0013 7777", address: "长宁区安顺路 9 号" },
      requested_window: { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3600000).toISOString() } }) });
    if (!r.ok) throw new Error("booking: " + r.status);
    const a = await r.json();
    const given = await fetch(`/api/assignments/${a.id}/assign`, { method: "POST", headers, body: JSON.stringify({ technician: liu.id }) });
    if (!given.ok) throw new Error("assigning: " + given.status);
    return day;
  }, zone);
  await openTab(page, "Day board");
  await lane(page, "刘洋").locator(".block").filter({ hasText: "彭波" }).waitFor();
  assert.equal(await block(page, "温岚").count(), 0, "not on today's board");
  await showDay(page, later);
  const booked = lane(page, "刘洋").locator(".block").filter({ hasText: "温岚" });
  await booked.waitFor();
  assert.match(await booked.getAttribute("aria-label"), /^温岚 · heating service, 09:00–11:00, not confirmed$/);
  assert.equal(await block(page, "彭波").count(), 0, "today's work is not on that day's board");
});

test("dragging a block to another qualified technician's lane reassigns it and moves its time", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Day board");
  const moving = lane(page, "刘洋").locator(".block").filter({ hasText: "彭波" });
  await moving.waitFor();
  await moving.dragTo(lane(page, "孙浩").locator(".lane-track"), { sourcePosition: { x: 2, y: 10 }, targetPosition: { x: 602, y: 10 } });
  await page.locator("#flash").getByText("彭波 reassigned to 孙浩").waitFor();
  await lane(page, "孙浩").locator(".block").filter({ hasText: "彭波" }).waitFor();
  assert.equal(await lane(page, "刘洋").locator(".block").filter({ hasText: "彭波" }).count(), 0);
  await block(page, "彭波").locator(".block-when").getByText(/^10:00–/).waitFor();
});

test("the keyboard picker lists qualified technicians by name and reschedules the block", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Day board");
  const first = lane(page, "刘洋").locator(".block").filter({ hasText: "彭波" });
  await first.waitFor();
  await first.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Technician for 彭波" });
  await dialog.waitFor();
  const names = await dialog.locator(".candidate strong").allTextContents();
  assert.deepEqual([...names].sort(), ["刘洋", "孙浩"], "only the heating_service technicians");
  assert.match(await dialog.locator(".candidate").first().textContent(), /jobs that day/);
  assert.ok(await dialog.getByRole("radio", { name: /刘洋/ }).isChecked(), "the current holder is preselected");
  await checkScreen(page, "picker", "en");
  await dialog.getByLabel("Start").fill("16:30");
  await dialog.getByRole("button", { name: "Save" }).click();
  await page.locator("#flash").getByText("彭波 moved to 16:30").waitFor();
  await block(page, "彭波").locator(".block-when").getByText(/^16:30–/).waitFor();
  // Focus stays on the moved block.
  assert.equal(await page.evaluate(() => document.activeElement.className), "block");
  await switchLanguage(page, "zh-CN");
  await block(page, "彭波").click();
  const zh = page.getByRole("dialog", { name: "为 彭波 选择技师" });
  await zh.waitFor();
  await assertChinese(page, "#picker");
  await checkScreen(page, "picker", "zh-CN");
  await zh.getByRole("button", { name: "取消" }).click();
});

test("a block changed meanwhile by someone else is refused with a clear message and shown anew", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Day board");
  const b = lane(page, "刘洋").locator(".block").filter({ hasText: "彭波" });
  await b.waitFor();
  const id = await b.getAttribute("data-assignment");
  // Another dispatcher adds a note: the version moves on.
  await page.evaluate(async (id) => {
    const token = sessionStorage.getItem("doorstep.token");
    const get = await fetch("/api/assignments/" + id, { headers: { authorization: "Bearer " + token } });
    const a = await get.json();
    await fetch("/api/assignments/" + id, { method: "PATCH", headers: { authorization: "Bearer " + token, "content-type": "application/json" },
      body: JSON.stringify({ expected_version: a.version, notes: "customer asked for a call first" }) });
  }, id);
  session.allowed = [/409/];
  await b.dragTo(lane(page, "孙浩").locator(".lane-track"), { sourcePosition: { x: 2, y: 10 }, targetPosition: { x: 602, y: 10 } });
  await page.locator("#flash.error").getByText("彭波 was changed by someone else meanwhile: the board shows the latest now").waitFor();
  // Still 刘洋's, at the latest version.
  await lane(page, "刘洋").locator(".block").filter({ hasText: "彭波" }).waitFor();
});

test("a technician's overlapping jobs sit in rows of their own, each whole and clickable", async () => {
  const { page } = session;
  await signIn(page);
  // Another dispatcher books 彭波 half an hour into 邓军's job, both 刘洋's.
  await page.evaluate(async () => {
    const token = sessionStorage.getItem("doorstep.token");
    const headers = { authorization: "Bearer " + token, "content-type": "application/json" };
    const all = await (await fetch("/api/assignments", { headers })).json();
    const by = (name) => all.find((x) => x.customer && x.customer.name === name);
    const [peng, deng] = [by("彭波"), by("邓军")];
    const start = new Date(Date.parse(deng.requested_window.start) + 30 * 60000);
    const end = new Date(start.getTime() + 2 * 3600000);
    const r = await fetch("/api/assignments/" + peng.id, { method: "PATCH", headers,
      body: JSON.stringify({ expected_version: peng.version, requested_window: { start: start.toISOString(), end: end.toISOString() } }) });
    if (!r.ok) throw new Error("moving 彭波: " + r.status);
  });
  await openTab(page, "Day board");
  const row = lane(page, "刘洋");
  const [peng, deng] = [row.locator(".block").filter({ hasText: "彭波" }), row.locator(".block").filter({ hasText: "邓军" })];
  await peng.waitFor();
  await deng.waitFor();
  const [p, d] = [await peng.boundingBox(), await deng.boundingBox()];
  assert.ok(p.x < d.x + d.width && d.x < p.x + p.width, "their times overlap");
  assert.ok(p.y >= d.y + d.height || d.y >= p.y + p.height, `one above the other, not one over the other: ${JSON.stringify([p, d])}`);
  const track = await row.locator(".lane-track").boundingBox();
  assert.ok(track.y + track.height >= Math.max(p.y + p.height, d.y + d.height) - 1, "the lane holds both rows");
  for (const b of [peng, deng]) assert.match(await b.getAttribute("class"), /\boverlaps\b/);
  assert.equal(await lane(page, "孙浩").locator(".block.overlaps").count(), 0, "nothing else is marked");
  await peng.click();
  await page.getByRole("dialog", { name: "Technician for 彭波" }).waitFor();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  await checkScreen(page, "day-board-double-booked", "en");
});

test("unassigned work is given to a technician chosen by name in the picker", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Day board");
  const waiting = page.locator("#unassigned-list li").filter({ hasText: "徐刚" });
  await waiting.getByRole("button", { name: "Assign 徐刚" }).click();
  const dialog = page.getByRole("dialog", { name: "Technician for 徐刚" });
  await dialog.getByRole("radio", { name: /孙浩/ }).check();
  await dialog.getByRole("button", { name: "Save" }).click();
  await page.locator("#flash").getByText("徐刚 assigned to 孙浩").waitFor();
  // It leaves the waiting list once the board has re-read the day (a
  // missing removal times out here).
  await waiting.waitFor({ state: "detached" });
  assert.equal(await waiting.count(), 0);
  await lane(page, "孙浩").locator(".block").filter({ hasText: "徐刚" }).waitFor();
});

/**
 * The hour axis as a person sees it: the corner above the names, and each
 * hour label's box and whether it is painted (not hidden, not under the corner).
 */
async function axisSeen(page) {
  return page.evaluate(() => {
    const box = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; };
    const corner = document.querySelector("#board-axis .axis-corner");
    const names = box(document.querySelector(".lane-name"));
    const labels = [...document.querySelectorAll("#board-axis .axis-track span")].map((s) => {
      const b = box(s);
      const hidden = getComputedStyle(s).visibility === "hidden";
      // What the browser paints at the label's first letter.
      const top = document.elementFromPoint(b.left + 2, (b.top + b.bottom) / 2);
      return Object.assign(b, { text: s.textContent, painted: !hidden && top === s });
    });
    return { corner: corner && box(corner), names, labels, scroll: document.getElementById("board-scroll").scrollLeft };
  });
}

/** Every painted hour label lies wholly right of the names' column; the edge's hour is among them. */
function assertAxisReadable(seen, what) {
  assert.ok(seen.corner, `${what}: a corner cell above the names`);
  assert.ok(Math.abs(seen.corner.right - seen.names.right) <= 1, `${what}: the corner is as wide as the names' column`);
  const painted = seen.labels.filter((l) => l.painted);
  assert.ok(painted.length >= 3, `${what}: hour labels shown: ${JSON.stringify(seen.labels.map((l) => l.text))}`);
  for (const l of seen.labels) {
    if (l.left < seen.corner.right - 0.5) assert.equal(l.painted, false, `${what}: ${l.text} shows over the names' column (${JSON.stringify(l)})`);
  }
  const first = painted[0];
  assert.ok(first.left >= seen.corner.right - 0.5 && first.left - seen.corner.right < 60,
    `${what}: the first hour label ${first.text} is whole and at the names' edge (${first.left} vs ${seen.corner.right})`);
}

test("the hour axis stays readable when the board is scrolled sideways", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Day board");
  await lane(page, "刘洋").locator(".block").first().waitFor();
  // As opened: scrolled to the day's work, an hour label at the names' edge.
  let seen = await axisSeen(page);
  assert.ok(seen.scroll > 0, "the board opens scrolled to the day's work");
  assertAxisReadable(seen, "as opened");
  // Scrolled by hand to the middle of an hour: no label half under the names.
  await page.locator("#board-scroll").evaluate((s) => { s.scrollLeft = 3 * 60 + 25; });
  await page.waitForFunction(() => document.querySelector("#board-axis .axis-track span:nth-child(4)").classList.contains("covered")
    && !document.querySelector("#board-axis .axis-track span:nth-child(5)").classList.contains("covered"));
  seen = await axisSeen(page);
  assertAxisReadable(seen, "scrolled to 03:25");
  assert.equal(seen.labels.find((l) => l.painted).text, "04:00");
  await page.screenshot({ path: path.join(SHOTS, "day-board-scrolled-en.png") });
  await switchLanguage(page, "zh-CN");
  await page.getByRole("heading", { name: /调度看板/ }).waitFor();
  await page.locator("#board-scroll").evaluate((s) => { s.scrollLeft = 6 * 60 + 40; });
  await page.waitForFunction(() => document.querySelector("#board-axis .axis-track span:nth-child(7)").classList.contains("covered")
    && !document.querySelector("#board-axis .axis-track span:nth-child(8)").classList.contains("covered"));
  assertAxisReadable(await axisSeen(page), "scrolled to 06:40, in Chinese");
  await assertChinese(page, "[data-view=dayboard]");
  assert.deepEqual(await axeViolations(page), [], "axe on the scrolled board");
  await page.screenshot({ path: path.join(SHOTS, "day-board-scrolled-zh-CN.png") });
});

test("the map shows the day's customers and technicians' last positions without a tile server", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Map");
  await page.locator("#map .map-customer").first().waitFor();
  assert.ok(await page.locator("#map .map-customer").count() >= 5);
  await page.locator("#map-legend").getByText(/Customers \(\d+\)/).waitFor();
  await checkScreen(page, "map", "en");
  await switchLanguage(page, "zh-CN");
  await page.locator("#map-legend").getByText(/^客户（\d+）$/).waitFor();
  await assertChinese(page, "[data-view=map]");
  await checkScreen(page, "map", "zh-CN");
});

test("a change made elsewhere reaches the open board live, with focus kept", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Day board");
  await page.locator("#live-status").getByText("live").waitFor();
  const b = lane(page, "刘洋").locator(".block").filter({ hasText: "彭波" });
  await b.waitFor();
  const customer = "彭波";
  await b.focus();
  // Another dispatcher, in another browser, moves it to 王磊.
  const other = await openPage(browser, server.url);
  await signIn(other.page);
  const id = await b.getAttribute("data-assignment");
  await other.page.evaluate(async (id) => {
    const token = sessionStorage.getItem("doorstep.token");
    const a = await (await fetch("/api/assignments/" + id, { headers: { authorization: "Bearer " + token } })).json();
    const res = await fetch(`/api/assignments/${id}/reassign`, { method: "POST",
      headers: { authorization: "Bearer " + token, "content-type": "application/json" },
      body: JSON.stringify({ technician: "T-sun", expected_version: a.version }) });
    if (!res.ok) throw new Error(await res.text());
  }, id);
  await other.context.close();
  await lane(page, "孙浩").locator(".block").filter({ hasText: customer }).waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => document.activeElement.dataset.assignment), id, "focus stays on the block");
});

test("at 390 px the board is a list per technician and no page scrolls sideways", async () => {
  const { page } = session;
  await page.setViewportSize({ width: 390, height: 800 });
  await signIn(page);
  for (const tab of ["Day board", "Map"]) {
    await openTab(page, tab);
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${tab}: scrollWidth ${width}`);
  }
  await openTab(page, "Day board");
  await lane(page, "刘洋").locator(".block").first().waitFor();
  await checkScreen(page, "day-board-390", "en");
  await switchLanguage(page, "zh-CN");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `Chinese day board: scrollWidth ${width}`);
  await checkScreen(page, "day-board-390", "zh-CN");
});
