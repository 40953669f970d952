// Work orders at the desk: editing one with its change history, search and
// a customer's history, and the intake's repeat-caller warning — in English
// and Chinese, each failing on page errors and axe violations.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const { startServer, launchBrowser, openPage } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot } = require("./desk");

let server;
let browser;
let session;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

beforeEach(async () => { session = await openPage(browser, server.url); });

afterEach(async () => {
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

/** The board's row of the customer's order. */
const orderRow = (page, customer) => page.locator("#board tbody tr").filter({ hasText: customer });

test("a dispatcher edits a work order and its history says who changed what", async () => {
  const { page } = session;
  await signIn(page);
  await orderRow(page, "郭伟").getByRole("button", { name: "Edit" }).click();
  const form = page.locator("#order-form");
  await form.getByLabel("Phone").waitFor();
  assert.equal(await form.getByLabel("Customer").inputValue(), "郭伟");
  await form.getByLabel("Phone").fill("136 3333 0000");
  await form.getByLabel("Fault").fill("运行很慢，开机要五分钟");
  await form.getByLabel("Window start").fill("2030-05-06T09:00");
  await form.getByLabel("Window end").fill("2030-05-06T11:00");
  assert.equal(await form.getByLabel("Priority").inputValue(), "normal");
  await form.getByLabel("Priority").selectOption("escalated");
  await assertAccessible(page, "the work-order form");
  await form.getByRole("button", { name: "Save changes" }).click();
  await page.locator("#flash").getByText(/saved/).waitFor();

  const latest = page.locator("#order-history li").first();
  await latest.getByText("li.na").waitFor();
  const text = await latest.textContent();
  assert.match(text, /version \d+: edited/);
  assert.match(text, /customer phone: 136 3333 4444 → 136 3333 0000/);
  assert.match(text, /fault description: .* → 运行很慢，开机要五分钟/);
  assert.match(text, /requested window: .* → .*2030/);
  assert.match(text, /priority: normal → escalated/);
  assert.equal(await page.locator("#order-history li").last().textContent().then((t) => /created/.test(t)), true);
  await screenshot(page, "order-edit-en");

  // The board shows the new fault and the raised priority at once.
  await page.getByRole("button", { name: "Back", exact: true }).click();
  await orderRow(page, "郭伟").getByText(/开机要五分钟/).waitFor();
  await orderRow(page, "郭伟").getByRole("cell", { name: "escalated", exact: true }).waitFor();

  // The same history in Chinese.
  await page.getByRole("button", { name: "中文" }).click();
  await orderRow(page, "郭伟").getByRole("button", { name: "修改" }).click();
  const zh = page.locator("#order-history li").first();
  await zh.getByText("客户电话：136 3333 4444 → 136 3333 0000").waitFor();
  assert.match(await zh.textContent(), /优先级：普通 → 升级/);
  assert.equal(await page.locator("#order-form").getByLabel("优先级").inputValue(), "escalated");
  assert.equal(await page.locator("#order-form select[name=priority] option:checked").textContent(), "升级");
  assert.match(await zh.textContent(), /第 \d+ 版：修改/);
  await assertAccessible(page, "the work-order form in Chinese");
  await screenshot(page, "order-edit-zh");
});

test("a reassignment reads in the order's history with the technicians' names, in Chinese", async () => {
  const { page } = session;
  await signIn(page, { zh: true });
  // Another dispatcher gives 郭伟's order to another qualified technician.
  const { from, to } = await page.evaluate(async () => {
    const token = sessionStorage.getItem("doorstep.token");
    const headers = { authorization: "Bearer " + token, "content-type": "application/json" };
    const [row] = await (await fetch("/api/search?q=" + encodeURIComponent("郭伟"), { headers })).json();
    const order = await (await fetch("/api/assignments/" + row.id, { headers })).json();
    const { candidates } = await (await fetch(`/api/assignments/${row.id}/candidates`, { headers })).json();
    const other = candidates.find((c) => c.technician_id !== order.technician);
    const answer = await fetch(`/api/assignments/${row.id}/${order.technician ? "reassign" : "assign"}`, {
      method: "POST", headers, body: JSON.stringify({ technician: other.technician_id }),
    });
    if (!answer.ok) throw new Error("reassigning: " + answer.status + " " + await answer.text());
    return { from: order.technician, to: other };
  });
  await orderRow(page, "郭伟").getByRole("button", { name: "修改" }).click();
  const latest = page.locator("#order-history li").first();
  await latest.getByText(to.name, { exact: false }).waitFor();
  const text = await latest.textContent();
  assert.match(text, new RegExp("技师：.* → " + to.name));
  assert.doesNotMatch(text, /按技师/, "the field is named as a field, not as the KPI grouping");
  assert.doesNotMatch(text, /T-[a-z]+/, "technicians by name, not by id");
  if (from) assert.doesNotMatch(text, new RegExp(from));
});

test("a window is typed and shown in the business time zone, whatever the browser's clock; a time that is none is refused", async () => {
  // A dispatcher whose laptop runs on Berlin time (UTC+1 in December) edits a Shanghai order.
  await session.context.close();
  session = await openPage(browser, server.url, { timezoneId: "Europe/Berlin" });
  const { page } = session;
  await signIn(page, { zh: true });
  await orderRow(page, "林涛").getByRole("button", { name: "修改" }).click();
  const form = page.locator("#order-form");
  await form.getByLabel("备注").waitFor();
  const shown = await form.getByLabel("预约开始").inputValue();
  assert.match(shown, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, "a wall-clock time, no AM/PM");
  const id = (await page.locator("#order-title").textContent()).match(/A-\d{8}-\d{4}/)[0];
  const before = await page.evaluate(async (id) => {
    const token = sessionStorage.getItem("doorstep.token");
    return (await (await fetch("/api/assignments/" + id, { headers: { authorization: "Bearer " + token } })).json()).requested_window;
  }, id);
  const shanghai = (iso) => new Date(Date.parse(iso) + 8 * 3600e3).toISOString().slice(0, 16).replace("T", " ");
  assert.equal(shown, shanghai(before.start), "the window as Shanghai reads it, not Berlin");

  // 31 November is no date: refused naming the field, in Chinese; nothing saved.
  await form.getByLabel("预约开始").fill("2030-11-31 09:00");
  await form.getByRole("button", { name: "保存修改" }).click();
  await page.locator("#flash.error").getByText("预约开始：请按 2026-12-03 09:00 的格式填写日期和时间（业务时区）。").waitFor();
  await form.getByLabel("预约开始").fill("2030-05-06 09:00");
  await form.getByLabel("预约结束").fill("2030-05-06 08:00");
  await form.getByRole("button", { name: "保存修改" }).click();
  await page.locator("#flash.error").getByText("预约结束：须晚于预约开始。").waitFor();

  // Typed in Shanghai time: 09:00 there is 01:00 UTC.
  await form.getByLabel("预约结束").fill("2030-05-06 11:00");
  await form.getByRole("button", { name: "保存修改" }).click();
  await page.locator("#flash:not(.error)").waitFor();
  const after = await page.evaluate(async (id) => {
    const token = sessionStorage.getItem("doorstep.token");
    return (await (await fetch("/api/assignments/" + id, { headers: { authorization: "Bearer " + token } })).json()).requested_window;
  }, id);
  assert.equal(Date.parse(after.start), Date.parse("2030-05-06T01:00:00Z"));
  assert.equal(Date.parse(after.end), Date.parse("2030-05-06T03:00:00Z"));
  await page.locator("#order-history li").first().getByText(/预约时间/).waitFor();
  await screenshot(page, "order-window-zh");
});

test("a stale edit is refused in the dispatcher's language", async () => {
  const { page } = session;
  await signIn(page, { zh: true });
  await orderRow(page, "林涛").getByRole("button", { name: "修改" }).click();
  const form = page.locator("#order-form");
  await form.getByLabel("备注").waitFor();
  // Someone else changes the order meanwhile.
  await page.evaluate(async () => {
    const token = sessionStorage.getItem("doorstep.token");
    const rows = await (await fetch("/api/search?q=" + encodeURIComponent("林涛"), { headers: { authorization: "Bearer " + token } })).json();
    await fetch("/api/assignments/" + rows[0].id, {
      method: "PATCH", headers: { authorization: "Bearer " + token, "content-type": "application/json" },
      body: JSON.stringify({ notes: "另一位调度员的备注" }),
    });
  });
  session.errors = ((all) => () => all().filter((e) => !/409/.test(e)))(session.errors);
  await form.getByLabel("备注").fill("我的备注");
  await form.getByRole("button", { name: "保存修改" }).click();
  const flash = page.locator("#flash.error");
  await flash.waitFor();
  assert.match(await flash.textContent(), /^工单已被他人修改（当前版本 \d+）：请刷新后重新修改。$/);
});

test("a dispatcher finds an order by phone, sees its visits, and the customer's history", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Search");
  await page.getByLabel("Phone, name, address or work order").fill("13800138001");
  await page.locator("#search-form").getByRole("button", { name: "Search" }).click();
  const rows = page.locator("#search tbody tr");
  await page.locator("#search-summary").getByText("1 work orders match “13800138001”").waitFor();
  const row = rows.filter({ hasText: "黄梅" });
  await row.getByText("静安区武定路 12 号").waitFor();
  assert.match(await row.textContent(), /closed/);
  await assertAccessible(page, "search");
  await screenshot(page, "search-en");

  // By a part of the address, in Chinese.
  await page.getByRole("button", { name: "中文" }).click();
  await openTab(page, "搜索");
  await page.getByLabel("电话、姓名、地址或工单号").fill("徐汇区");
  await page.locator("#search-form").getByRole("button", { name: "搜索" }).click();
  await page.locator("#search-summary").getByText(/找到 \d+ 个与“徐汇区”相符的工单/).waitFor();
  assert.ok(await rows.count() >= 4);
  await rows.filter({ hasText: "马丽" }).getByRole("button", { name: "客户历史" }).click();
  await page.locator("#search-summary").getByText("马丽 的服务历史：共 1 个工单").waitFor();
  await assertAccessible(page, "a customer's history");
  await screenshot(page, "customer-history-zh");
});

test("the intake warns about a repeat caller and a repeat repair of the same product", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Intake");
  const form = page.locator("#intake-form");
  await form.getByLabel("Phone").fill("138 0013 8001");
  await form.getByLabel("Product model").fill("海尔 BCD-216");
  await form.getByLabel("Caller name").click(); // leaving the field asks the server
  const warning = page.getByRole("alert").filter({ hasText: "Repeat repair" });
  await warning.waitFor();
  assert.match(await warning.textContent(), /Repeat repair: 海尔 BCD-216 was repaired for this caller within 30 days/);
  assert.match(await warning.textContent(), /Repeat caller: 1 work orders in the last 30 days/);
  await assertAccessible(page, "the intake with its warning");
  await screenshot(page, "intake-repeat-en");

  // A new caller: no warning.
  await form.getByLabel("Phone").fill("186 0000 1111");
  await form.getByLabel("Caller name").click();
  await page.waitForFunction(() => document.querySelector("#repeat-warning").hidden);

  await page.getByRole("button", { name: "中文" }).click();
  await openTab(page, "受理");
  await form.getByLabel("电话").fill("13800138001");
  await form.getByLabel("来电人").click();
  await page.getByRole("alert").getByText(/重复来电：近 30 天内有 1 个工单/).waitFor();
  await screenshot(page, "intake-repeat-zh");
});

test("a dispatcher exports a table to CSV and Excel, with Chinese headers in Chinese", async () => {
  const { page } = session;
  await signIn(page, { zh: true });
  const board = page.locator("[data-view=board]");
  const [csv] = await Promise.all([page.waitForEvent("download"), board.getByRole("button", { name: "导出 CSV" }).click()]);
  assert.match(csv.suggestedFilename(), /^工单-\d{4}-\d{2}-\d{2}\.csv$/);
  const text = require("node:fs").readFileSync(await csv.path(), "utf8");
  const lines = text.split("\r\n");
  assert.equal(lines[0], "\ufeff编号,客户,业务,优先级,状态,技师,预约时间,时间确认,版本");
  assert.ok(lines.some((l) => /黄梅/.test(l) && /已完成/.test(l)), "the rows as shown, in Chinese");
  assert.equal(lines.length - 2, await page.locator("#board tbody tr").count(), "one line per row and a final line end");

  await openTab(page, "回访");
  await page.locator("#callbacks tbody tr").first().waitFor();
  const callbacks = page.locator("[data-view=callbacks]");
  const [xlsx] = await Promise.all([page.waitForEvent("download"), callbacks.getByRole("button", { name: "导出 Excel" }).click()]);
  assert.match(xlsx.suggestedFilename(), /^待回访.*\d{4}-\d{2}-\d{2}\.xlsx$/);
  const bytes = require("node:fs").readFileSync(await xlsx.path());
  assert.equal(bytes.subarray(0, 2).toString(), "PK", "an xlsx is a zip");
  await page.locator("#flash").getByText(/已下载/).waitFor();
});
