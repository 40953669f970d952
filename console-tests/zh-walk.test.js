// A walk of every screen of the console: in Chinese none may show a raw
// code (`cancelled_after_start`), English server text or ASCII punctuation
// beside Chinese; in English none may show a raw code either ("cancelled
// after setting off"); in both languages each is axe-clean, saved as a
// screenshot, and fits a 390 px phone without sideways scrolling.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { startServer, launchBrowser, openPage } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot, assertFitsPhone, chineseProblems, timeProblems } = require("./desk");

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Every tab: [English name, Chinese name, what shows it has loaded]. */
const TABS = [
  ["Board", "工单看板", "#board tbody tr"],
  ["Visits", "上门记录", "#visits tbody tr"],
  ["Intake", "受理", "#intake-form"],
  ["Reminders", "催办", "#reminders tbody tr"],
  ["Conflicts", "冲突", "#conflicts tbody tr"],
  ["Callbacks", "回访", "#callbacks tbody tr"],
  ["Reconciliation", "对账", "#reconciliation tbody tr"],
  ["Cash", "现金", "#cash tbody tr"],
  ["KPIs", "考核指标", "#kpis tbody tr"],
  ["Roster", "技师", "#roster tbody tr"],
  ["Requests", "待办请求", "#queue tbody tr"],
  ["Search", "搜索", "#search-form"],
];

/** The visible text of the page (what a dispatcher reads). */
const visibleText = (page) => page.evaluate(() => document.body.innerText);

/** Opens every screen, the visit and order detail included, calling `check` on each. */
async function walk(page, zh, check) {
  for (const [en, cn, loaded] of TABS) {
    await openTab(page, zh ? cn : en);
    await page.locator(loaded).first().waitFor();
    if (en === "Reconciliation") await page.locator("#recon-summary").filter({ hasText: /\d/ }).waitFor();
    if (en === "Search") {
      await page.locator("#search-q").fill("徐汇");
      await page.locator("#search-form").getByRole("button").click();
      await page.locator("#search tbody tr").first().waitFor();
    }
    await check(en.toLowerCase());
    if (en === "Visits") {
      await page.locator("#visits tbody tr").filter({ hasText: "黄梅" }).click();
      await page.locator("#visit-report").waitFor();
      await check("visit");
    }
    if (en === "Board") {
      await page.locator("#board tbody tr").filter({ hasText: "林涛" }).getByRole("button", { name: zh ? "修改" : "Edit" }).click();
      await page.locator("#order-history li").first().waitFor();
      await check("order");
      await page.getByRole("button", { name: zh ? "返回" : "Back", exact: true }).click();
    }
  }
}

test("every screen in Chinese shows no raw code or time, no English server text and no ASCII punctuation beside Chinese", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page, { zh: true });
  const problems = [];
  await walk(page, true, async (screen) => {
    const text = await visibleText(page);
    for (const p of chineseProblems(text)) problems.push(`${screen}: ${p}`);
    for (const p of timeProblems(text)) problems.push(`${screen}: ${p}`);
    if (screen === "visit" || screen === "order") {
      // Times read as the core reads them in Chinese: "12月3日 09:00".
      if (!/\d{1,2}月\d{1,2}日 \d{2}:\d{2}/.test(text)) problems.push(`${screen}: no time as 12月3日 09:00`);
    }
    await assertAccessible(page, screen + " in Chinese");
    await screenshot(page, `walk-${screen}-zh`);
  });
  // A refusal from the server, in Chinese: a search the server refuses.
  const refusal = await page.evaluate(async () => {
    const res = await fetch("/api/search?q=%20", { headers: {
      authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "accept-language": "zh-CN" } });
    return (await res.json()).error.message;
  });
  assert.equal(refusal, "搜索内容为空：请输入电话、姓名、地址或工单号的一部分。");
  assert.deepEqual(problems, []);
  const errors = session.errors().filter((e) => !/400/.test(e));
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

test("every screen in English shows no raw code or time, is axe-clean and saved", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page);
  const codes = [];
  await walk(page, false, async (screen) => {
    const text = await visibleText(page);
    for (const m of text.matchAll(/[a-z]+_[a-z_]+/g)) codes.push(`${screen}: raw code ${m[0]}`);
    for (const p of timeProblems(text)) codes.push(`${screen}: ${p}`);
    if ((screen === "visit" || screen === "order") && !/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(text)) {
      codes.push(`${screen}: no time as 2026-12-03 09:00`);
    }
    await assertAccessible(page, screen);
    await screenshot(page, `walk-${screen}-en`);
  });
  assert.deepEqual(codes, [], "codes read as English words (i18n.js EN)");
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

test("every screen fits a 390 px phone (cards instead of wide tables)", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, { zh: true });
  await walk(page, true, async (screen) => {
    await assertFitsPhone(page, screen);
    await screenshot(page, `walk-${screen}-390`);
  });
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});
