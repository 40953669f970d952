// A dispatcher's day in one piece, in Chinese, as the console is used at a
// Chinese after-sales center: a customer calls (受理), the order is given to
// a technician picked by name, moved earlier by dragging it on the day board,
// the technician's question about the order is answered from the requests
// queue, the visit is done on the technician's phone (the `doorstep device`
// CLI: the real device store and sync client), its report is opened, and the
// day's visits are exported. The dispatcher reaches everything by role and
// label and never types an id or a code.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startServer, launchBrowser, openPage, morningZone } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot, chineseProblems } = require("./desk");
const { assertPhoneCli, runPhone, enrolSunsPhone } = require("./phone");

let server;
let browser;
let dir;
let zone;

before(async () => {
  assertPhoneCli();
  // The day runs in a business zone where it is mid-morning now, so the
  // board's hours and the visit's times hold whatever hour the test runs at.
  zone = morningZone();
  server = await startServer({ DOORSTEP_BUSINESS_TIME_ZONE: zone });
  browser = await launchBrowser();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "doorstep-day-"));
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** 孙浩's phone; its JSON output. */
const phone = (...args) => runPhone(path.join(dir, "phone.db"), ...args);

/** Today's date (YYYY-MM-DD) in the business zone. */
const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date());

/** The instant of `hh:mm` today in the business zone (an `Etc/GMT±N` zone: a whole-hour offset). */
function todayAt(hhmm) {
  const [h, m] = hhmm.split(":").map(Number);
  const offsetHours = zone === "Etc/UTC" ? 0 : -Number(/GMT([+-]\d+)/.exec(zone)[1]);
  const [y, mo, d] = today().split("-").map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h - offsetHours, m));
}

/**
 * The shipped appliance-repair visit script (`examples/appliance_repair.jsonl`)
 * moved to a window starting at `start`, as JSON lines the CLI runs: every
 * command as the technician gives it, the standard's deliberate refusals
 * included, split where the center's answer to the technician's
 * verification request arrives (`{ asked, answered }`).
 */
function applianceVisit(start) {
  const lines = fs.readFileSync(path.join(__dirname, "../examples/appliance_repair.jsonl"), "utf8")
    .split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((l) => l.command);
  const receipts = lines.filter((l) => l.command.type === "receive_assignment");
  const shift = start.getTime() - Date.parse(receipts[receipts.length - 1].command.assignment.requested_window.start);
  const script = (part) => part.filter((l) => l.command.type !== "receive_assignment")
    .map((l) => JSON.stringify(Object.assign({}, l, { at: new Date(Date.parse(l.at) + shift).toISOString() })))
    .join("\n") + "\n";
  const answer = lines.indexOf(receipts[1]);
  return { asked: script(lines.slice(0, answer)), answered: script(lines.slice(answer)) };
}

test("一天的调度：受理、按姓名派单、拖动改时间、答复技师的核实请求、查看完工报告、导出当天记录（不输入任何编号）", async () => {
  enrolSunsPhone(phone, "phone-sun-day", server);
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page, { zh: true });

  // 09:xx: a customer calls. The intake takes the call; the order's window is 10:00-12:00 today.
  await openTab(page, "受理");
  const intake = page.locator("#intake-form");
  await intake.getByLabel("类别").selectOption({ label: "一般维修" });
  await intake.getByLabel("业务").selectOption({ label: "家电维修" });
  await intake.getByLabel("来电人").fill("郑丽");
  await intake.getByLabel("电话").fill("139 1234 5678");
  await intake.getByLabel("地址").fill("上海市浦东新区张杨路1588弄12号1502室");
  await intake.getByLabel("产品型号").fill("BCD-470");
  await intake.getByLabel("预约开始").fill(`${today()} 10:00`);
  await intake.getByLabel("预约结束").fill(`${today()} 12:00`);
  await intake.getByLabel("内容").fill("冰箱不制冷，冷藏室温度降不下来");
  await intake.getByRole("button", { name: "记录受理" }).click();
  await page.locator("#flash").getByText(/已建工单/).waitFor();
  await screenshot(page, "day-1-intake-zh");

  // Picked by name on the day board: the new order waits on the side.
  await openTab(page, "调度看板");
  const waiting = page.locator("#unassigned-list li").filter({ hasText: "郑丽" });
  await waiting.getByRole("button", { name: "派单：郑丽" }).click();
  const dialog = page.getByRole("dialog", { name: "为 郑丽 选择技师" });
  await dialog.getByRole("radio", { name: /孙浩/ }).check();
  await assertAccessible(page, "the technician picker");
  await screenshot(page, "day-2-pick-zh");
  await dialog.getByRole("button", { name: "保存" }).click();
  await page.locator("#flash").getByText("郑丽 已派给 孙浩").waitFor();
  await waiting.waitFor({ state: "detached" });

  // The customer asks for earlier: the block is dragged to 08:00 in 孙浩's lane.
  const lane = page.locator(".lane").filter({ has: page.locator(".lane-name", { hasText: "孙浩" }) });
  const block = lane.locator(".block").filter({ hasText: "郑丽" });
  await block.waitFor();
  await block.dragTo(lane.locator(".lane-track"), { sourcePosition: { x: 2, y: 10 }, targetPosition: { x: 8 * 60 + 2, y: 10 } });
  await page.locator("#flash").getByText("郑丽 已改到 08:00").waitFor();
  await block.locator(".block-when").getByText(/^08:00–10:00/).waitFor();
  await screenshot(page, "day-3-dragged-zh");

  // The technician's phone takes the order and calls the customer, who does
  // not remember when the fridge was bought (the intake does not ask): the
  // appointment cannot be confirmed, so the technician asks the center.
  const start = todayAt("08:00");
  const visit = applianceVisit(start);
  phone("sync");
  const order = phone("today").find((v) => /郑/.test(v.customer || ""));
  assert.ok(order, "the order is on the phone's day");
  const id = order.assignment;
  const script = path.join(dir, "visit.jsonl");
  fs.writeFileSync(script, visit.asked);
  phone("run", "--assignment", id, script);
  phone("sync");

  // The desk answers from the queue: the customer cannot give the date, so it is waived.
  await page.reload();
  await page.locator("#queue-count").getByText(/\d/).waitFor();
  await openTab(page, "待办请求");
  const request = page.locator("#queue tbody tr").filter({ hasText: "郑丽" });
  assert.match(await request.textContent(), /请求核实信息/);
  await request.getByRole("button", { name: "答复" }).click();
  await page.locator("#order-request").getByText("孙浩 请求核实：购买日期（“请中心查询购机记录”）").waitFor();
  await page.getByRole("button", { name: "免填这些项" }).click();
  await page.locator("#flash").getByText(/购买日期已确认免填/).waitFor();
  await screenshot(page, "day-4-answered-zh");
  await page.getByRole("button", { name: "返回", exact: true }).click();

  // The visit, done on the phone by the standard and synced.
  phone("sync");
  fs.writeFileSync(script, visit.answered);
  phone("run", "--assignment", id, script);
  phone("sync");

  // The visit done, with its report.
  await openTab(page, "上门记录");
  const row = page.locator("#visits tbody tr[data-visit]").filter({ has: page.getByRole("cell", { name: "郑丽", exact: true }) });
  await row.waitFor();
  assert.match(await row.textContent(), /已结束/);
  await row.click();
  const report = page.locator("#visit-report");
  await report.waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector("#visit-signature");
    return img && img.complete && img.naturalWidth > 0;
  });
  const [pdf] = await Promise.all([page.waitForEvent("download"), report.getByRole("button", { name: "PDF（中文）" }).click()]);
  assert.equal(fs.readFileSync(await pdf.path()).subarray(0, 5).toString(), "%PDF-");
  assert.deepEqual(chineseProblems(await page.locator("#visit-detail").innerText()), []);
  await assertAccessible(page, "the visit done and its report");
  await screenshot(page, "day-5-report-zh");

  // The day's visits, exported as the dispatcher sees them.
  const visits = page.locator("[data-view=visits]");
  const [csv] = await Promise.all([page.waitForEvent("download"), visits.getByRole("button", { name: "导出 CSV" }).click()]);
  const lines = fs.readFileSync(await csv.path(), "utf8").split("\r\n");
  assert.ok(lines.some((l) => /郑丽/.test(l) && /孙浩/.test(l) && /已结束/.test(l)), lines.join("\n"));

  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});
