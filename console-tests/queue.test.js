// The requests queue: a technician's phone (the `doorstep device` CLI, a
// real device client with its own store) asks the center to verify the
// customer's phone; the request shows on the Requests tab with its count,
// the dispatcher answers it by correcting the order, and the phone's next
// sync brings the correction into its visit.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startServer, launchBrowser, openPage } = require("./harness");
const { PASSWORD, signIn, openTab, assertAccessible, screenshot } = require("./desk");

const { assertPhoneCli, runPhone } = require("./phone");

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

test("a technician's verify-with-center request is answered from the queue and reaches the phone", async () => {
  phone("enrol", "--device-id", "phone-sun-2", "--technician-id", "T-sun", "--name", "孙浩的备用手机",
    "--server", server.url.replace(/\/$/, ""), "--dispatcher", "zhang.wei", "--password", PASSWORD);

  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page);
  // The day's new order for 孙浩 (set up through the API: picking is the board's test).
  const id = await page.evaluate(async () => {
    const headers = { authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "content-type": "application/json" };
    const start = new Date(Date.now() + 3 * 3600e3);
    const a = await (await fetch("/api/assignments", { method: "POST", headers, body: JSON.stringify({
      trade: "heating_service", fault_description: "暖气片漏水",
      customer: { name: "钱芳", phone: "1390000", address: "长宁区定西路 5 号" },
      product: { model: "壁挂炉 WB-24", purchase_date: "2025-03-01" },
      requested_window: { start: start.toISOString(), end: new Date(start.getTime() + 7200e3).toISOString() },
    }) })).json();
    await fetch(`/api/assignments/${a.id}/assign`, { method: "POST", headers, body: JSON.stringify({ technician: "T-sun" }) });
    return a.id;
  });

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
  assert.match(await row.textContent(), /center_verification_requested/);
  assert.match(await row.textContent(), /customer_phone; 号码不全/);
  // The technician by name, not by id.
  assert.match(await row.textContent(), /孙浩/);
  assert.doesNotMatch(await row.textContent(), /T-sun/);
  assert.match(await page.locator("#queue-summary").textContent(), /center_verification_requested 1/);
  await assertAccessible(page, "the requests queue");
  await screenshot(page, "queue-en");
  const before = Number(/\d+/.exec(await page.locator("#queue-count").textContent())[0]);

  await row.getByRole("button", { name: "Answer" }).click();
  const form = page.locator("#order-form");
  await page.locator("#order-request").getByText("孙浩 asks to verify: customer_phone (“号码不全”)").waitFor();
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
  phone("sync");
  const view = JSON.stringify(phone("view", "--assignment", id));
  assert.match(view, /139 0000 5678/);

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
