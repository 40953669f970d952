// The requests queue: a technician's phone (the `doorstep device` CLI, a
// real device client with its own store) asks the center to verify the
// customer's phone; the request shows on the Requests tab with its count,
// the dispatcher answers it by correcting the order, and the phone's next
// sync brings the correction into its visit. A field the customer cannot
// give is waived from the queue instead; a fact the server refused waits
// there until a dispatcher has looked at it.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startServer, launchBrowser, openPage } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot, orderFor, chineseProblems } = require("./desk");

const { assertPhoneCli, runPhone, enrolSunsPhone } = require("./phone");

let server;
let browser;
let dir;

before(async () => {
  assertPhoneCli();
  // Customer notices go out at any hour of this run: quiet hours (21:00-08:00
  // by default) are moved to an hour half a day away in Beijing time.
  const away = (new Date().getUTCHours() + 8 + 12) % 24;
  const hh = (h) => String(h % 24).padStart(2, "0") + ":00";
  server = await startServer({ DOORSTEP_NOTICE_QUIET_HOURS: `${hh(away)}-${hh(away + 1)}` });
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

test("a technician's verify-with-center request is answered from the queue and reaches the phone", async () => {
  enrolSunsPhone(phone, "phone-sun-2", server, "孙浩的备用手机");

  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page);
  // The day's new order for 孙浩 (set up through the API: picking is the board's test).
  const id = await orderFor(page, {
    trade: "heating_service", fault_description: "暖气片漏水",
    customer: { name: "钱芳", phone: "1390000", address: "长宁区定西路 5 号" },
    product: { model: "壁挂炉 WB-24", purchase_date: "2025-03-01" },
  }, { technician: "T-sun" });

  // On the phone: the order arrives; the number is wrong, so the technician asks the center.
  phone("sync");
  phone("apply", "--assignment", id, JSON.stringify({ type: "verify_with_center", fields: ["customer_phone"], note: "号码不全" }));
  phone("sync");

  // The desk sees the request on its tab, with the count.
  await page.reload();
  await page.locator("#board tbody tr").first().waitFor();
  await page.locator("#queue-count").getByText(/\(\d+\)/).waitFor();
  await openTab(page, "Requests");
  const row = page.locator("#queue tbody tr").filter({ hasText: "钱芳" });
  await row.waitFor();
  assert.match(await row.textContent(), /verify with center/);
  assert.match(await row.textContent(), /customer phone; 号码不全/);
  // The technician by name, not by id.
  assert.match(await row.textContent(), /孙浩/);
  assert.doesNotMatch(await row.textContent(), /T-sun/);
  assert.match(await page.locator("#queue-summary").textContent(), /verify with center 1/);
  await assertAccessible(page, "the requests queue");
  await screenshot(page, "queue-en");
  const before = Number(/\d+/.exec(await page.locator("#queue-count").textContent())[0]);

  await row.getByRole("button", { name: "Answer" }).click();
  const form = page.locator("#order-form");
  await page.locator("#order-request").getByText("孙浩 asks to verify: customer phone (“号码不全”)").waitFor();
  await form.getByLabel("Phone").fill("139 0000 5678");
  await form.getByRole("button", { name: "Save changes" }).click();
  await page.locator("#flash").getByText(/the technician's phone gets it at its next sync/).waitFor();
  await page.waitForFunction((n) => {
    const m = /\d+/.exec(document.querySelector("#queue-count").textContent);
    return (m ? Number(m[0]) : 0) === n - 1;
  }, before);
  await page.getByRole("button", { name: "Back", exact: true }).click();
  await page.locator("#queue tbody tr").filter({ hasText: "钱芳" }).waitFor({ state: "detached" });

  // The phone's next sync brings the corrected number into its visit.
  // The phone holds only the masked number (no privacy number is bound
  // here): the corrected one, 139 0000 5678, shows as 139****5678.
  phone("sync");
  const view = JSON.stringify(phone("view", "--assignment", id));
  assert.match(view, /"phone":"139\*{4}5678"/);
  assert.doesNotMatch(view, /139 ?0000 ?5678/);

  // The same queue in Chinese.
  await page.getByRole("button", { name: "中文" }).click();
  await openTab(page, "待办请求");
  await page.locator("#queue-summary").waitFor();
  await assertAccessible(page, "the requests queue in Chinese");
  await screenshot(page, "queue-zh");
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

test("a field the customer cannot give is waived from the queue, and the phone confirms without it", async () => {
  // 孙浩's third phone; the customer does not know when the fridge was bought.
  const third = (...args) => runPhone(path.join(dir, "waiver.db"), ...args);
  enrolSunsPhone(third, "phone-sun-3", server);
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page);
  const id = await orderFor(page, {
    trade: "appliance_repair", fault_description: "冰箱不制冷",
    customer: { name: "周红", phone: "139 0000 1234", address: "静安区南京西路 100 号" },
    product: { model: "BCD-470", warranty: "out_of_warranty" },
  }, { technician: "T-sun" });
  const confirm = JSON.stringify({ type: "confirm_appointment", address_confirmed: true, product_confirmed: true });
  third("sync");
  third("apply", "--assignment", id, JSON.stringify({ type: "log_call", outcome: "reached" }));
  assert.throws(() => third("apply", "--assignment", id, confirm), (e) => /Purchase date/.test(e.stderr),
    "the phone will not confirm without the purchase date");
  third("apply", "--assignment", id, JSON.stringify({ type: "verify_with_center", fields: ["purchase_date"], note: "客户记不清购买日期" }));
  third("sync");

  // The desk waives it from the request, in Chinese.
  await page.reload();
  await page.getByRole("button", { name: "中文" }).click();
  await openTab(page, "待办请求");
  const row = page.locator("#queue tbody tr").filter({ hasText: "周红" });
  await row.getByRole("button", { name: "答复" }).click();
  await page.locator("#order-request").getByText("孙浩 请求核实：购买日期（“客户记不清购买日期”）").waitFor();
  await page.getByRole("button", { name: "免填这些项" }).click();
  await page.locator("#flash").getByText(/的购买日期已确认免填；技师手机下次同步时收到/).waitFor();
  await page.locator("#order-history").getByText(/中心免填确认——中心免填：— → 购买日期/).waitFor();
  assert.ok(await page.locator("#order-request").isHidden(), "the request is answered");
  await assertAccessible(page, "the order after a waiver");
  await screenshot(page, "order-waived-zh");
  await page.getByRole("button", { name: "返回", exact: true }).click();
  await page.locator("#queue tbody tr").filter({ hasText: "周红" }).waitFor({ state: "detached" });

  // The phone's next sync brings the waiver: it says who waived what, and confirms.
  third("sync");
  const view = third("view", "--assignment", id);
  assert.ok(view.prompts.some((p) => p.code === "center_waived" && /Purchase date \(approved by li\.na/.test(p.text.en)),
    JSON.stringify(view.prompts));
  third("apply", "--assignment", id, confirm);
  third("sync");
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

/** A version 7 UUID for a fact stamped `ms` (as the phone's event ids are). */
function uuidv7(ms) {
  const t = ms.toString(16).padStart(12, "0"), r = require("node:crypto").randomBytes(10).toString("hex");
  return `${t.slice(0, 8)}-${t.slice(8)}-7${r.slice(0, 3)}-${(8 | (parseInt(r[3], 16) & 3)).toString(16)}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}

test("a fact the server refused waits in the queue, named in Chinese, until a dispatcher has looked at it", async () => {
  // A phone that sends what its app never would: the door answered before
  // anyone knocked, at a visit not yet confirmed (a tampered or broken app).
  const db = path.join(dir, "forged.db");
  const forger = (...args) => runPhone(db, ...args);
  enrolSunsPhone(forger, "phone-sun-x", server);
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page, { zh: true });
  // Three hours from now: after 21:00 in Shanghai that is tomorrow there,
  // so the phone is asked for the window's own business day.
  const start = new Date(Date.now() + 3 * 3600e3);
  const id = await orderFor(page, {
    trade: "heating_service", fault_description: "暖气片不热",
    customer: { name: "冯刚", phone: "139 5555 6666", address: "虹口区四川北路 200 号" },
    product: { model: "壁挂炉 WB-26", purchase_date: "2024-10-01" },
  }, { technician: "T-sun", start });
  forger("sync");
  const shanghaiDay = new Date(start.getTime() + 8 * 3600e3).toISOString().slice(0, 10);
  const visit = forger("today", "--date", shanghaiDay).find((v) => v.assignment === id);
  assert.ok(visit, `order ${id} on the phone's list for ${shanghaiDay}`);
  const { token } = JSON.parse(fs.readFileSync(db + ".device.json", "utf8"));
  const now = Date.now();
  const res = await fetch(server.url + "api/sync/push", {
    method: "POST", headers: { authorization: "Bearer " + token, "content-type": "application/json" },
    body: JSON.stringify({ protocol_version: 1, device_id: "phone-sun-x", events: [{ seq: 1, event: {
      id: uuidv7(now), visit_id: visit.visit, assignment_id: id, device_id: "phone-sun-x",
      hlc: { millis: now, counter: 0 }, recorded_at: new Date(now).toISOString(), location: null,
      assignment_version: 2, type: "door_answered" } }] }),
  });
  const pushed = await res.json();
  assert.equal(res.status, 200, JSON.stringify(pushed));
  assert.deepEqual(pushed.refused.map((r) => r.code), ["workflow_refused"], "acknowledged, refused, kept for review");

  await page.reload();
  await openTab(page, "待办请求");
  const row = page.locator("#queue tbody tr").filter({ hasText: "冯刚" });
  await row.waitFor();
  assert.match(await row.textContent(), /手机记录被拒收/);
  assert.match(await row.textContent(), /客户已开门；服务规范不允许/, "which fact, and why it was refused");
  assert.deepEqual(chineseProblems(await row.innerText()), []);
  await assertAccessible(page, "a refused fact in the queue");
  await screenshot(page, "queue-refused-fact-zh");
  await row.getByRole("button", { name: "标记已查看" }).click();
  await page.locator("#flash").getByText("已标记为已查看").waitFor();
  await row.waitFor({ state: "detached" });
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

test("a customer notice that could not be delivered waits in the queue, to be sent again", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page);
  // An order taken with the customer's consent to notices by WeChat, for
  // which this server has no provider: the first notice cannot go out.
  const id = await page.evaluate(async () => {
    const headers = { authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "content-type": "application/json" };
    const start = new Date(Date.now() + 4 * 3600e3);
    const res = await fetch("/api/intakes", { method: "POST", headers, body: JSON.stringify({
      classification: "general", content: "空调不制冷", trade: "appliance_repair",
      caller: { name: "孔丽", phone: "139 2222 3333", address: "普陀区曹杨路 10 号" },
      product: { model: "KFR-35GW", purchase_date: "2024-06-01", warranty: "out_of_warranty" },
      requested_window: { start: start.toISOString(), end: new Date(start.getTime() + 7200e3).toISOString() },
      notice_consent: { consented: true, channel: "wechat", address: "oKongLi_wx_2024" },
    }) });
    if (!res.ok) throw new Error(await res.text());
    const id = (await res.json()).intake.assignment_id;
    const assigned = await fetch(`/api/assignments/${id}/assign`, { method: "POST", headers, body: JSON.stringify({ technician: "T-sun" }) });
    if (!assigned.ok) throw new Error(await assigned.text());
    return id;
  });
  // 孙浩's second phone takes the order and confirms the appointment with the customer.
  const second = (...args) => runPhone(path.join(dir, "notice.db"), ...args);
  enrolSunsPhone(second, "phone-sun-notice", server);
  second("sync");
  second("apply", "--assignment", id, JSON.stringify({ type: "log_call", outcome: "reached" }));
  second("apply", "--assignment", id, JSON.stringify({ type: "confirm_appointment", address_confirmed: true, product_confirmed: true }));
  second("sync");

  await openTab(page, "Requests");
  const row = page.locator("#queue tbody tr").filter({ hasText: "孔丽" }).filter({ hasText: "customer notice undelivered" });
  // The outbox worker gives up on it within a round or two; the queue is read again until then.
  for (let i = 0; i < 30 && !(await row.count()); i++) {
    await page.waitForTimeout(1000);
    await openTab(page, "Board");
    await openTab(page, "Requests");
  }
  await row.waitFor();
  assert.match(await row.textContent(), /appointment confirmed; by wechat, 1 attempts/);
  assert.match(await row.textContent(), /孙浩/);
  await row.getByRole("button", { name: "Send again" }).click();
  await page.locator("#flash").getByText("notice queued to send again").waitFor();

  await page.getByRole("button", { name: "中文" }).click();
  await openTab(page, "待办请求");
  const zh = page.locator("#queue tbody tr").filter({ hasText: "孔丽" }).filter({ hasText: "客户通知未送达" });
  for (let i = 0; i < 30 && !(await zh.count()); i++) {
    await page.waitForTimeout(1000);
    await openTab(page, "工单看板");
    await openTab(page, "待办请求");
  }
  assert.match(await zh.textContent(), /预约确认；经微信发送，已尝试 \d+ 次/);
  await assertAccessible(page, "an undelivered notice in the queue");
  await screenshot(page, "queue-notice-zh");
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});
