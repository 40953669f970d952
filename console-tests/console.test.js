// The dispatcher console in a real browser against a real server with the
// demo data: each test is something a dispatcher does at the desk.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const { startServer, launchBrowser, openPage } = require("./harness");
const { screenshot } = require("./desk");

const PASSWORD = "doorstep-demo";
let server;
let browser;
let session; // { page, context, errors }
let allowedErrors; // console errors a test expects (a refused request)

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

beforeEach(async () => {
  session = await openPage(browser, server.url);
  allowedErrors = [];
});

afterEach(async () => {
  const errors = session.errors().filter((e) => !allowedErrors.some((re) => re.test(e)));
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

async function signIn(page, username = "li.na", password = PASSWORD) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

async function signedIn(page) {
  await signIn(page);
  await page.locator("#who").getByText("li.na (dispatcher)").waitFor();
  await boardRows(page).first().waitFor();
}

/** The board's rows (one per assignment; none while it says nothing to show). */
const boardRows = (page) => page.locator("#board tbody tr").filter({ hasNot: page.getByText("nothing to show") });

/** The board's row of one assignment. */
const boardRow = (page, id) => page.locator("#board tbody tr").filter({ has: page.getByRole("cell", { name: id, exact: true }) });

/** Cells of a row, by the board's column headers. */
async function rowValues(row) {
  const headers = await row.locator("xpath=ancestor::table//thead//th").allTextContents();
  const cells = await row.locator("td").allTextContents();
  return Object.fromEntries(headers.map((h, i) => [h.trim(), (cells[i] || "").trim()]));
}

/** Clicks a button that asks with prompt(), answering `answer`. */
async function clickAnswering(page, button, answer) {
  const asked = new Promise((resolve) => page.once("dialog", async (d) => {
    const message = d.message();
    await d.accept(answer);
    resolve(message);
  }));
  await button.click();
  return asked;
}

/**
 * Clicks a button that opens the technician picker and chooses `name`;
 * returns the names the picker offered (best first).
 */
async function pickTechnician(page, button, name) {
  await button.click();
  const dialog = page.getByRole("dialog", { name: /^Technician for / });
  await dialog.waitFor();
  const offered = await dialog.locator(".candidate strong").allTextContents();
  await dialog.getByRole("radio", { name: new RegExp("^" + name) }).check();
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "hidden" });
  return offered;
}

async function openTab(page, name) {
  await page.locator("nav").getByRole("button", { name, exact: true }).click();
}

/** Takes in a request through the Intake tab; returns the new assignment id. */
async function takeIn(page, { trade, name, phone, address, content }) {
  await openTab(page, "Intake");
  const form = page.locator("#intake-form");
  await form.getByLabel("Class").selectOption("general");
  await form.getByLabel("Trade").selectOption(trade);
  await form.getByLabel("Caller name").fill(name);
  await form.getByLabel("Phone").fill(phone);
  await form.getByLabel("Address").fill(address);
  await form.getByLabel("Content").fill(content);
  await form.getByRole("button", { name: "Record request" }).click();
  const flash = page.locator("#flash");
  await flash.getByText(/assignment A-\d{8}-\d{4} created/).waitFor();
  return /(A-\d{8}-\d{4})/.exec(await flash.textContent())[1];
}

test("a dispatcher signs in; a wrong password is refused with a clear message", async () => {
  const { page } = session;
  assert.equal(await page.locator("#login-view").isVisible(), true);
  assert.equal(await page.locator("#app").isVisible(), false);

  // The refused login answers 401, which the browser reports on its console.
  allowedErrors = [/401/];
  await signIn(page, "li.na", "not-the-password");
  const flash = page.locator("#flash.error");
  await flash.waitFor();
  assert.match(await flash.textContent(), /username or password/i);
  assert.equal(await page.locator("#app").isVisible(), false);
  assert.equal(await page.locator("#login-view").isVisible(), true);

  await signIn(page);
  await page.locator("#who").getByText("li.na (dispatcher)").waitFor();
  assert.equal(await page.locator("#login-view").isVisible(), false);
  assert.equal(await page.locator("#app").isVisible(), true);
  assert.equal(await page.locator("#flash").textContent(), "", "the error is gone once signed in");

  // Signed in survives a reload (the token is in sessionStorage), and logs out.
  await page.reload();
  await page.locator("#who").getByText("li.na (dispatcher)").waitFor();
  await page.getByRole("button", { name: "Log out" }).click();
  await page.locator("#login-view").waitFor();
  assert.equal(await page.locator("#app").isVisible(), false);
  assert.equal(await page.locator("#who").textContent(), "");
});

test("a dispatcher sees the roster and the assignment board", async () => {
  const { page } = session;
  await signedIn(page);

  // The board: the demo's twelve assignments in every state.
  const rows = boardRows(page);
  assert.equal(await rows.count(), 12);
  const all = [];
  for (let i = 0; i < 12; i++) all.push(await rowValues(rows.nth(i)));
  const statuses = new Set(all.map((r) => r.Status.split(":")[0]));
  for (const s of ["open", "assigned", "done", "cancelled"]) assert.ok(statuses.has(s), `a ${s} assignment on the board: ${[...statuses]}`);
  const open = all.filter((r) => r.Status === "open");
  assert.equal(open.length, 2);
  for (const r of open) {
    assert.equal(r.Technician, "—");
    assert.match(r.Actions, /Assign/);
  }
  const fridge = all.find((r) => /黄梅/.test(r.Customer));
  assert.ok(fridge, "the board names the customer");
  assert.match(fridge.Customer, /冰箱不制冷/);
  assert.equal(fridge.Status, "done");
  // Technicians by name (the id in the tooltip), not by id.
  assert.equal(fridge.Technician, "王磊");
  assert.equal(await rows.filter({ hasText: "黄梅" }).getByRole("cell", { name: "王磊", exact: true }).getAttribute("title"), "T-wang");

  // Filtering the board by status.
  await page.locator("#status-filter").selectOption("open");
  await page.waitForFunction(() => document.querySelectorAll("#board tbody tr").length === 2);
  for (let i = 0; i < 2; i++) assert.equal((await rowValues(boardRows(page).nth(i))).Status, "open");
  await page.locator("#status-filter").selectOption("");
  await page.waitForFunction(() => document.querySelectorAll("#board tbody tr").length === 12);

  // The roster: six technicians with their trades and workload.
  await openTab(page, "Roster");
  const roster = page.locator("#roster tbody tr");
  await roster.first().waitFor();
  assert.equal(await roster.count(), 6);
  const wang = await rowValues(roster.filter({ hasText: "王磊" }));
  assert.equal(wang.Id, "T-wang");
  assert.equal(wang.Name, "王磊");
  assert.equal(wang.Trades, "appliance repair, computer repair");
  assert.equal(wang.Devices, "1");
  assert.equal(await page.locator("[data-view=board]").isVisible(), false);
});

test("a dispatcher takes in a new request and dispatches it to a technician", async () => {
  const { page } = session;
  await signedIn(page);
  const id = await takeIn(page, {
    trade: "heating_service", name: "Wu Ping", phone: "138 0000 1234",
    address: "7 Anfu Rd", content: "boiler leaking",
  });
  // The form is ready for the next call.
  assert.equal(await page.locator("#intake-form").getByLabel("Content").inputValue(), "");

  await openTab(page, "Board");
  const row = boardRow(page, id);
  await row.waitFor();
  let v = await rowValues(row);
  assert.equal(v.Status, "open");
  assert.equal(v.Technician, "—");
  assert.equal(v.Trade, "heating service");
  assert.match(v.Customer, /Wu Ping/);

  // Assign offers the technicians qualified for the trade, by name.
  const offered = await pickTechnician(page, row.getByRole("button", { name: "Assign" }), "孙浩");
  assert.deepEqual([...offered].sort(), ["刘洋", "孙浩"]);
  await page.locator("#flash").getByText(`${id} assigned to 孙浩`).waitFor();
  await row.getByRole("cell", { name: "孙浩", exact: true }).waitFor();
  v = await rowValues(row);
  assert.equal(v.Status, "assigned");
  assert.equal(v.Technician, "孙浩");
  assert.match(v.Actions, /Reassign/);
  assert.doesNotMatch(v.Actions, /\bAssign\b/);

  // Confirming the visit time with the customer.
  await row.getByRole("button", { name: "Window confirmed" }).click();
  await row.getByRole("cell", { name: "yes", exact: true }).waitFor();

  // A technician who does not work in the trade is not offered.
  const other = await takeIn(page, {
    trade: "water_delivery", name: "Qian Yu", phone: "139 0000 5678",
    address: "1 Wulumuqi Rd", content: "two bottles",
  });
  await openTab(page, "Board");
  const otherRow = boardRow(page, other);
  await otherRow.waitFor();
  const water = await pickTechnician(page, otherRow.getByRole("button", { name: "Assign" }), "赵敏");
  assert.deepEqual(water, ["赵敏"]);
  await otherRow.getByRole("cell", { name: "赵敏", exact: true }).waitFor();
});

test("a dispatcher reassigns an assignment to another technician", async () => {
  const { page } = session;
  await signedIn(page);
  const id = await takeIn(page, {
    trade: "appliance_repair", name: "Zheng Hui", phone: "137 1234 0000",
    address: "20 Huashan Rd", content: "dryer makes noise",
  });
  await openTab(page, "Board");
  const row = boardRow(page, id);
  await row.waitFor();
  await pickTechnician(page, row.getByRole("button", { name: "Assign" }), "王磊");
  await row.getByRole("cell", { name: "王磊", exact: true }).waitFor();

  await pickTechnician(page, row.getByRole("button", { name: "Reassign" }), "孙浩");
  await page.locator("#flash").getByText(`${id} reassigned to 孙浩`).waitFor();
  await row.getByRole("cell", { name: "孙浩", exact: true }).waitFor();
  const v = await rowValues(row);
  assert.equal(v.Status, "assigned");
  assert.equal(v.Technician, "孙浩");

  // Cancelling the picker changes nothing.
  await row.getByRole("button", { name: "Reassign" }).click();
  await page.getByRole("dialog", { name: /^Technician for / }).getByRole("button", { name: "Cancel" }).click();
  assert.equal((await rowValues(row)).Technician, "孙浩");
});

test("a dispatcher cancels an assignment with a reason", async () => {
  const { page } = session;
  await signedIn(page);
  const id = await takeIn(page, {
    trade: "home_care", name: "Yang Li", phone: "136 5555 0000",
    address: "9 Jianguo Rd", content: "weekly care visit",
  });
  await openTab(page, "Board");
  const row = boardRow(page, id);
  await row.waitFor();
  await pickTechnician(page, row.getByRole("button", { name: "Assign" }), "陈静");
  await row.getByRole("cell", { name: "陈静", exact: true }).waitFor();

  const question = await clickAnswering(page, row.getByRole("button", { name: "Cancel" }), "customer moved the visit to next week");
  assert.match(question, /why/i);
  await page.locator("#flash").getByText(`${id} cancelled`).waitFor();
  await row.getByText("customer moved the visit to next week").waitFor();
  const v = await rowValues(row);
  assert.match(v.Status, /^cancelled/);
  assert.match(v.Status, /customer moved the visit to next week/);
  assert.equal(v.Actions, "", "nothing left to do on a cancelled assignment");

  // The demo's cancelled assignment shows its reason too.
  await page.locator("#status-filter").selectOption("cancelled");
  await page.locator("#board tbody").getByText("客户来电取消").waitFor();
});

test("a dispatcher follows up after service: conflicts, callbacks, reconciliation, KPIs", async () => {
  const { page } = session;
  await signedIn(page);

  // The visit that was under way when the customer cancelled is a conflict.
  await openTab(page, "Conflicts");
  const conflict = page.locator("#conflicts tbody tr").filter({ hasText: "cancelled after setting off" });
  await conflict.waitFor();
  const c = await rowValues(conflict);
  assert.equal(c.Technician, "陈静");
  await clickAnswering(page, conflict.getByRole("button", { name: "Center's change stands" }), "customer confirmed by phone");
  await page.locator("#flash").getByText("conflict resolved").waitFor();
  await page.locator("#conflicts tbody").getByText("nothing to show").waitFor();

  // The visit rated 3 for quality (邓军's corridor light) gets a callback within 24 hours.
  await openTab(page, "Callbacks");
  const callbacks = page.locator("#callbacks tbody tr");
  await callbacks.first().waitFor();
  const due = callbacks.filter({ hasText: "邓军" });
  await due.waitFor();
  const d = await rowValues(due);
  assert.equal(d.Phone, "131 8888 9999");
  assert.ok(d.Reason.length > 0);
  await clickAnswering(page, due.getByRole("button", { name: "Satisfied", exact: true }), "all good now");
  await page.locator("#flash").getByText("callback recorded").waitFor();
  await page.locator("#callbacks tbody").filter({ hasNotText: "邓军" }).waitFor();

  // Today's reconciliation: each closed visit with its sign-off status.
  await openTab(page, "Reconciliation");
  await page.locator("#recon-summary").getByText(/closed visits/).waitFor();
  // The demo's served visits all close on one business day: today's, or,
  // in the first 7 hours of a Beijing day, wholly on the day before.
  if (/: 0 closed visits/.test(await page.locator("#recon-summary").textContent())) {
    const shanghaiToday = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
    const before = new Date(Date.parse(shanghaiToday) - 86400e3).toISOString().slice(0, 10);
    await page.locator("#recon-date").fill(before);
    await page.getByRole("button", { name: "Run" }).click();
    await page.locator("#recon-summary").getByText(before).waitFor();
  }
  // Every demo visit is by the book: the day reconciles clean.
  assert.match(await page.locator("#recon-summary").textContent(), /6 closed visits, 6 clean, 0 with findings/);
  const visits = page.locator("#reconciliation tbody tr");
  assert.equal(await visits.count(), 6);
  for (let i = 0; i < 6; i++) {
    const r = await rowValues(visits.nth(i));
    assert.equal(r["Sign-off"], "verified");
    assert.doesNotMatch(r.Technician, /^T-/, "the technician by name");
  }

  // KPIs by technician.
  await openTab(page, "KPIs");
  await page.locator("#kpi-by").selectOption("technician");
  const kpi = page.locator("#kpis tbody tr").filter({ hasText: "刘洋" });
  await kpi.waitFor();
  assert.equal((await rowValues(kpi)).Visits, "2");
});

test("a dispatcher switches the console between English and Simplified Chinese", async () => {
  const { page } = session;
  // On the sign-in page already, and it carries over to the signed-in console.
  await page.getByRole("button", { name: "中文" }).click();
  await page.getByRole("button", { name: "登录" }).waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  assert.equal(await page.title(), "Doorstep — 派单台");

  // A wrong password, said in Chinese.
  allowedErrors = [/401/];
  await page.getByLabel("用户名").fill("zhang.wei");
  await page.getByLabel("密码").fill("not-the-password");
  await page.getByRole("button", { name: "登录" }).click();
  await page.locator("#flash.error").getByText("用户名或密码错误").waitFor();

  await page.getByLabel("密码").fill(PASSWORD);
  await page.getByRole("button", { name: "登录" }).click();
  await page.locator("#who").getByText("zhang.wei（调度员）").waitFor();
  await boardRows(page).first().waitFor();
  const nav = (await page.locator("nav button").allTextContents()).map((s) => s.trim());
  assert.deepEqual(nav, ["工单看板", "调度看板", "地图", "上门记录", "受理", "催办", "冲突", "回访", "对账", "现金", "考核指标", "技师", "待办请求", "搜索", "管理"]);
  const headers = await page.locator("#board thead th").allTextContents();
  assert.deepEqual(headers, ["编号", "客户", "业务", "优先级", "状态", "技师", "预约时间", "时间确认", "版本", "操作"]);

  // Rows and their actions speak Chinese; the filter still filters.
  await page.locator("#status-filter").selectOption("open");
  await page.waitForFunction(() => [...document.querySelectorAll("#board tbody tr")]
    .every((tr) => tr.children[4] && tr.children[4].textContent === "待派"));
  const open = await rowValues(boardRows(page).filter({ hasText: "徐刚" }));
  assert.equal(open["状态"], "待派");
  assert.match(open["操作"], /派单/);
  assert.match(open["业务"], /家电维修|电脑维修/);

  // The choice is remembered across a reload.
  await page.reload();
  await page.locator("#who").getByText("zhang.wei（调度员）").waitFor();
  await page.locator("nav").getByRole("button", { name: "工单看板" }).waitFor();

  // And back to English, where the page was.
  await openTab(page, "技师");
  await page.locator("#roster tbody tr").first().waitFor();
  await page.getByRole("button", { name: "English" }).click();
  await page.locator("#who").getByText("zhang.wei (dispatcher)").waitFor();
  await page.locator("#roster").getByRole("cell", { name: "appliance repair, computer repair" }).waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  assert.deepEqual(await page.locator("#roster thead th").allTextContents(),
    ["Id", "Name", "Trades", "Devices", "Open", "Closed today"]);
  assert.equal(await page.locator("[data-view=roster]").isVisible(), true);
  assert.equal(await page.getByRole("button", { name: "中文" }).isVisible(), true);
});

/** The visits list's rows (one per visit). */
const visitRows = (page) => page.locator("#visits tbody tr[data-visit]");

/** The visits list's row of one customer (the demo has one visit per customer). */
const visitRow = (page, customer) => visitRows(page).filter({ has: page.getByRole("cell", { name: customer, exact: true }) });

/** A value in the open visit's detail, by its label. */
const detailValue = (page, label) => page.locator(`#visit-detail tr:has(> th:text-is("${label}")) > td`);

/** Opens one visit's detail from the list; returns its id. */
async function openVisit(page, customer) {
  const row = visitRow(page, customer);
  const id = await row.getAttribute("data-visit");
  await row.click();
  await page.locator("#visit-detail h3").filter({ hasText: id }).waitFor();
  return id;
}

test("a dispatcher looks through the visits and filters them by assignment", async () => {
  const { page } = session;
  await signedIn(page);
  await openTab(page, "Visits");
  const rows = visitRows(page);
  await rows.first().waitFor();

  // The demo's seven visits: six closed today, each signed and verified, and
  // the one under way when the customer cancelled.
  assert.equal(await rows.count(), 7);
  const all = [];
  for (let i = 0; i < 7; i++) all.push(await rowValues(rows.nth(i)));
  const closed = all.filter((v) => v.Stage === "closed");
  assert.equal(closed.length, 6);
  // The workflow closes a repair as fixed and a delivery or care visit (no
  // test run in those trades) as completed.
  for (const v of closed) {
    assert.equal(v["Sign-off"], "verified");
    assert.equal(v.Outcome, ["water delivery", "home care"].includes(v.Trade) ? "completed" : "fixed");
    assert.notEqual(v.Closed, "");
  }
  const underWay = all.find((v) => v.Customer === "宋英");
  assert.equal(underWay.Stage, "on site");
  assert.equal(underWay.Outcome, "—");
  assert.equal(underWay["Sign-off"], "none");
  assert.equal(underWay.Technician, "陈静");
  // 罗秀's technician arrived 20 minutes late.
  assert.match(all.find((v) => v.Customer === "罗秀").Arrived, /\(late\)$/);
  assert.equal(all.filter((v) => /late/.test(v.Arrived)).length, 1);

  // Filtering by an assignment id.
  const fridge = all.find((v) => v.Customer === "黄梅");
  assert.match(fridge.Assignment, /^A-\d{8}-\d{4}$/);
  await page.getByLabel("Assignment").fill(fridge.Assignment);
  await page.getByLabel("Assignment").press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("#visits tbody tr").length === 1);
  const only = await rowValues(rows.first());
  assert.equal(only.Assignment, fridge.Assignment);
  assert.equal(only.Customer, "黄梅");
  assert.equal(only.Trade, "appliance repair");
  assert.equal(only["Sign-off"], "verified");

  // An assignment without a visit shows nothing; clearing shows them all.
  await page.getByLabel("Assignment").fill("A-19990101-0001");
  await page.getByLabel("Assignment").press("Enter");
  await page.locator("#visits tbody").getByText("nothing to show").waitFor();
  await page.getByLabel("Assignment").fill("");
  await page.getByLabel("Assignment").press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("#visits tbody tr[data-visit]").length === 7);
});

test("a broken or declined sign-off stands out in the visits list", async () => {
  const { page } = session;
  // The demo's sign-offs all verify: show two of them as the server would
  // report a broken and a declined one.
  await page.route((url) => url.pathname === "/api/visits", async (route) => {
    const response = await route.fetch();
    const visits = await response.json();
    const closed = visits.filter((v) => v.stage === "closed");
    Object.assign(closed[0], {
      signoff: "broken",
      signoff_problem: "the report changed after signing: signed 1a2b3c4d, now 5e6f7a8b",
      signoff_problem_text: {
        en: "the report changed after signing: signed 1a2b3c4d, now 5e6f7a8b",
        zh: "签字后报告被改动：签署时摘要 1a2b3c4d，现为 5e6f7a8b",
      },
    });
    Object.assign(closed[1], { signoff: "declined", signoff_problem: null, signoff_problem_text: null });
    await route.fulfill({ response, json: visits });
  });
  await signedIn(page);
  await openTab(page, "Visits");
  await visitRows(page).first().waitFor();
  const flagged = page.locator("#visits tbody td.flagged");
  assert.equal(await flagged.count(), 2);
  assert.deepEqual((await flagged.allTextContents()).sort(),
    ["⚠ broken: the report changed after signing: signed 1a2b3c4d, now 5e6f7a8b", "⚠ declined"]);
  const verified = page.locator("#visits tbody td").filter({ hasText: /^verified$/ });
  assert.equal(await verified.count(), 4);
  assert.equal(await page.locator("#visits tbody td.flagged").filter({ hasText: "verified" }).count(), 0);
  // In Chinese the problem reads in Chinese, never the server's English.
  await page.getByRole("button", { name: "中文" }).click();
  await flagged.filter({ hasText: "客户拒签" }).waitFor();
  assert.deepEqual((await flagged.allTextContents()).sort(),
    ["⚠ 客户拒签", "⚠ 验证失败：签字后报告被改动：签署时摘要 1a2b3c4d，现为 5e6f7a8b"]);
  await screenshot(page, "visits-broken-signoff-zh");
  await page.getByRole("button", { name: "English" }).click();
  await flagged.filter({ hasText: "declined" }).waitFor();
  await page.unrouteAll({ behavior: "ignoreErrors" });
});

test("a dispatcher opens a visit: customer, timeline, quote, payment, ratings, sign-off", async () => {
  const { page } = session;
  await signedIn(page);
  await openTab(page, "Visits");
  await visitRows(page).first().waitFor();
  assert.equal(await page.locator("#visit-detail").isVisible(), false);

  const id = await openVisit(page, "黄梅");
  assert.match(await detailValue(page, "Customer").textContent(), /黄梅 · 138 0013 8001 · 静安区武定路 12 号/);
  assert.match(await detailValue(page, "Assignment").textContent(), /^A-\d{8}-\d{4} \(v\d+\)$/);
  assert.equal(await detailValue(page, "Fault").textContent(), "冰箱不制冷");
  assert.equal(await detailValue(page, "Technician").textContent(), "王磊 (T-wang)");
  assert.equal(await detailValue(page, "Outcome").textContent(), "fixed");
  assert.match(await detailValue(page, "Arrived").textContent(), / — \d+ min early$/);

  // The quote's lines with who pays, and its totals in yuan.
  const lines = page.locator("#visit-quote tbody tr");
  assert.equal(await lines.count(), 2);
  assert.deepEqual(await rowValues(lines.nth(0)),
    { Item: "Visit fee", Kind: "visit", Qty: "1", "Unit price": "¥30.00", Amount: "¥30.00", "Who pays": "customer" });
  assert.equal((await rowValues(lines.nth(1)))["Amount"], "¥50.00");
  assert.equal(await detailValue(page, "Customer total").textContent(), "¥80.00");
  assert.equal(await detailValue(page, "Covered by warranty").textContent(), "¥0.00");
  assert.equal(await detailValue(page, "Accepted").textContent(), "yes");

  // Paid in full, rated, and the signature verifies against the report.
  assert.equal(await detailValue(page, "Collected").textContent(), "¥80.00");
  assert.equal(await detailValue(page, "Method").textContent(), "cash");
  assert.equal(await detailValue(page, "Still due").textContent(), "¥0.00");
  assert.equal(await detailValue(page, "Quality").textContent(), "5 / 5");
  assert.equal(await detailValue(page, "Attitude").textContent(), "5 / 5");
  assert.equal(await detailValue(page, "Result").textContent(), "verified");
  assert.match(await detailValue(page, "Report digest").textContent(), /^[0-9a-f]{8}$/);
  assert.equal(await detailValue(page, "Evidence chain").textContent(), "intact");
  assert.equal(await page.locator("#visits tbody tr.selected").getAttribute("data-visit"), id);

  // The history names each fact as the technician's screen named the action.
  const history = await page.locator("#visit-history li").allTextContents();
  assert.match(history[0], /Receive assignment$/);
  assert.ok(history.some((h) => h.endsWith("Knock / ring")), history.join("\n"));
  assert.ok(history.some((h) => h.endsWith("Customer rates and signs")), history.join("\n"));

  // 曹瑞 paid the ¥350.00 quote in full (the workflow collects exactly
  // what is due).
  await openVisit(page, "曹瑞");
  assert.equal(await detailValue(page, "Customer total").textContent(), "¥350.00");
  assert.equal(await detailValue(page, "Collected").textContent(), "¥350.00");
  assert.equal(await detailValue(page, "Still due").textContent(), "¥0.00");

  // 罗秀's arrival was late; 宋英's visit carries its conflict.
  await openVisit(page, "罗秀");
  assert.match(await detailValue(page, "Arrived").textContent(), / — late 20 min$/);
  await openVisit(page, "宋英");
  assert.match(await detailValue(page, "Conflict").textContent(), /^cancelled after setting off/);
  assert.equal(await detailValue(page, "Result").textContent(), "none");
  assert.equal(await detailValue(page, "Quote").textContent(), "no quote");

  await page.locator("#visit-detail").getByRole("button", { name: "Close" }).click();
  await page.locator("#visit-detail").waitFor({ state: "hidden" });
});

test("the visits and a visit's detail in Simplified Chinese", async () => {
  const { page } = session;
  await page.getByRole("button", { name: "中文" }).click();
  await page.getByLabel("用户名").fill("li.na");
  await page.getByLabel("密码").fill(PASSWORD);
  await page.getByRole("button", { name: "登录" }).click();
  await page.locator("#who").getByText("li.na（调度员）").waitFor();
  await openTab(page, "上门记录");
  await visitRows(page).first().waitFor();
  assert.deepEqual(await page.locator("#visits thead th").allTextContents(),
    ["上门", "工单", "客户", "技师", "业务", "阶段", "结果", "趟次", "出发", "到达", "结束", "签字"]);
  const fridge = await rowValues(visitRow(page, "黄梅"));
  assert.equal(fridge["阶段"], "已结束");
  assert.equal(fridge["结果"], "已修复");
  assert.equal(fridge["签字"], "已验证");
  assert.equal(fridge["业务"], "家电维修");
  assert.equal((await rowValues(visitRow(page, "宋英")))["签字"], "未签字");
  assert.match((await rowValues(visitRow(page, "罗秀")))["到达"], /（迟到）$/);

  await openVisit(page, "黄梅");
  assert.equal(await detailValue(page, "客户应付").textContent(), "¥80.00");
  assert.equal(await detailValue(page, "实收").textContent(), "¥80.00");
  assert.equal(await detailValue(page, "方式").textContent(), "现金");
  assert.match(await detailValue(page, "票据").textContent(), /^收据 SJ-[0-9a-f]{8}$/);
  assert.equal(await detailValue(page, "验证结果").textContent(), "已验证");
  assert.equal((await rowValues(page.locator("#visit-quote tbody tr").first()))["付款方"], "客户");
  const historyZh = await page.locator("#visit-history li").allTextContents();
  assert.match(historyZh[0], /接收工单$/);
  assert.ok(historyZh.some((h) => h.endsWith("客户评价并签字")), historyZh.join("\n"));

  // Back to English: the list and the open visit follow.
  await page.getByRole("button", { name: "English" }).click();
  await page.locator("#visit-detail h3").getByText("Customer and assignment").waitFor();
  assert.equal(await detailValue(page, "Result").textContent(), "verified");
  assert.equal((await rowValues(visitRow(page, "黄梅")))["Sign-off"], "verified");
  assert.equal(await page.locator("nav").getByRole("button", { name: "Visits" }).isVisible(), true);
});

test("a dispatcher opens a visit's record and its service report: signature, work, PDF, customer link", async () => {
  const { page, context } = session;
  await signedIn(page);
  await openTab(page, "Visits");
  await visitRows(page).first().waitFor();
  await openVisit(page, "黄梅");

  // The signature, redrawn by the server from the customer's strokes.
  await page.waitForFunction(() => {
    const img = document.querySelector("#visit-signature");
    return img && img.complete && img.naturalWidth > 0;
  });
  // What was found and done, the test run, and the photos the standard asks
  // for (report format 2), each shown and named by its moment.
  assert.match(await detailValue(page, "Test run").textContent(), /^passed · /);
  assert.ok(await page.locator("#visit-work tbody tr").count() >= 1);
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll("#visit-photos img")];
    return imgs.length >= 3 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  });
  assert.ok((await page.locator("#visit-photos figcaption").allTextContents()).includes("nameplate and serial number"));

  // The PDF downloads, named after the work order.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.locator("#visit-report").getByRole("button", { name: "PDF (中文)" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^service-report-A-\d{8}-\d{4}-zh-CN\.pdf$/);
  const pdf = require("node:fs").readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-");
  assert.ok(pdf.length > 10000, `a whole report, not ${pdf.length} bytes`);

  // A customer link, shown once to copy; the customer opens it on a phone.
  await page.getByRole("button", { name: "Create customer link" }).click();
  const field = page.locator("#customer-link");
  await field.waitFor();
  const url = await field.inputValue();
  assert.match(url, /\/r\/rpt_[0-9a-f]{64}$/);
  assert.match(await page.locator("#visit-report-link").textContent(), /link created .*, expires /);
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(url);
  assert.match(await phone.locator("#verification-status").textContent(), /^Verified/);
  assert.equal(await phone.locator("#signature svg").count(), 1);
  // The page is styled (its one inline style is allowed by the server's
  // policy) and the photos load through the link itself (no login).
  assert.equal(await phone.locator("#photos .photos").evaluate((e) => getComputedStyle(e).display), "grid");
  await phone.locator("#photos img").last().scrollIntoViewIfNeeded();
  await phone.waitForFunction(() => {
    const imgs = [...document.querySelectorAll("#photos img")];
    return imgs.length >= 3 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  });
  await screenshot(phone, "customer-report-390-en");
  await phone.goto(url + "?lang=zh-CN");
  await phone.locator("#photos img").last().scrollIntoViewIfNeeded();
  await phone.waitForFunction(() => [...document.querySelectorAll("#photos img")].every((i) => i.complete && i.naturalWidth > 0));
  assert.match(await phone.locator("#photos").textContent(), /铭牌及序列号/);
  await screenshot(phone, "customer-report-390-zh");
  await phone.close();
  // A re-read of the screen (Refresh here; a reconnect does the same) redraws
  // the visit but keeps the link this page created on screen.
  await page.locator("#visit-report-link").evaluate((e) => { e.dataset.drawn = "before"; });
  await page.locator("[data-view=visits]").getByRole("button", { name: "Refresh" }).click();
  await page.waitForFunction(() => document.querySelector("#visit-report-link")
    && !document.querySelector("#visit-report-link[data-drawn]"));
  assert.equal(await page.locator("#customer-link").inputValue(), url);
});
