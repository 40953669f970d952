// The engineers' cash (现金) at the desk, against a real server with the
// demo data (黄梅 paid 王磊 and 邓军 paid 刘洋 in cash this morning): the
// Cash tab lists per technician per day what was collected, remitted and is
// outstanding in yuan; a remittance of more than the technician holds is
// refused next to the amount, naming what he holds; a remittance recorded
// makes the outstanding fall. In Chinese and English, each failing on page
// errors and axe violations.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const { startServer, launchBrowser, openPage, morningZone } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot, chineseProblems } = require("./desk");

let server;
let browser;
let session;

before(async () => {
  // The demo's cash was taken "this morning": in a business zone where it
  // is mid-morning now, whatever hour the test runs at (at 01:00 in Beijing
  // the demo's morning is yesterday's, off the tab's default day).
  server = await startServer({ DOORSTEP_BUSINESS_TIME_ZONE: morningZone() });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

beforeEach(async () => { session = await openPage(browser, server.url); });

afterEach(async () => {
  // The refusals the tests provoke are 400 and 409 answers the browser logs.
  const errors = session.errors().filter((e) => !/status of (400 \(Bad Request\)|409 \(Conflict\))/.test(e));
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

/** `¥1,234.50` as fen. */
function fen(text) {
  const m = /^¥([\d,]+)\.(\d{2})$/.exec(text.trim());
  assert.ok(m, `an amount in yuan: ${text}`);
  return Number(m[1].replace(/,/g, "")) * 100 + Number(m[2]);
}

/** The technician's last day row: { collected, remitted, outstanding } in fen. */
async function dayRow(page, tech) {
  const row = page.locator(`#cash tbody tr[data-technician="${tech}"]`).last();
  await row.waitFor();
  const cells = await row.locator("td").allTextContents();
  return { collected: fen(cells[2]), remitted: fen(cells[3]), outstanding: fen(cells[4]), outstandingShown: cells[4].trim(), details: cells[5] };
}

test("现金：a remittance of more than the technician holds is refused at the amount; one recorded makes the outstanding fall", async () => {
  const { page } = session;
  await signIn(page, { zh: true });
  await openTab(page, "现金");
  const before = await dayRow(page, "T-wang");
  assert.ok(before.collected > 0, "王磊 collected cash this morning");
  assert.equal(before.outstanding, before.collected - before.remitted);
  assert.match(before.details, /收据 SJ-/);
  assert.match(await page.locator("#cash-summary").textContent(), /收取现金 ¥[\d,]+\.\d{2}，已交款 ¥[\d,]+\.\d{2}，未交款 ¥/);

  const form = page.locator("#remit-form");
  await form.getByLabel("技师").selectOption({ label: "王磊" });
  // One fen more than he holds.
  await form.getByLabel("金额（元）").fill(((before.outstanding + 1) / 100).toFixed(2));
  await form.getByRole("button", { name: "确认交款" }).click();
  const error = page.locator("#remit-error-amount");
  await error.getByText(/^金额：超过技师手中的现金/).waitFor();
  assert.ok((await error.textContent()).includes(before.outstandingShown), "the refusal names what he holds, as the ledger shows it");
  assert.equal(await form.getByLabel("金额（元）").getAttribute("aria-invalid"), "true");
  assert.equal((await dayRow(page, "T-wang")).outstanding, before.outstanding, "nothing was recorded");
  await assertAccessible(page, "the cash screen with a refusal");
  await screenshot(page, "cash-refused-zh");

  const half = Math.floor(before.outstanding / 2);
  await form.getByLabel("金额（元）").fill((half / 100).toFixed(2));
  await form.getByLabel("备注").fill("交到前台");
  await form.getByRole("button", { name: "确认交款" }).click();
  const flash = page.locator("#flash").getByText(/^已登记王磊交款 ¥[\d,]+\.\d{2}$/);
  await flash.waitFor();
  const shownHalf = (await flash.textContent()).replace("已登记王磊交款 ", "");
  assert.equal(fen(shownHalf), half);
  assert.equal(await error.textContent(), "", "the refusal is gone");
  const afterRemit = await dayRow(page, "T-wang");
  assert.equal(afterRemit.outstanding, before.outstanding - half);
  assert.equal(afterRemit.remitted, before.remitted + half);
  assert.ok(afterRemit.details.includes(`交款 ${shownHalf}，经手人 li.na`), afterRemit.details);
  const text = await page.locator("[data-view=cash]").innerText();
  assert.deepEqual(chineseProblems(text), []);
  assert.doesNotMatch(text.replace(/SJ-[0-9a-f]+|A-\d{8}-\d{4}|li\.na|\d{4}-\d{2}-\d{2}|CSV|Excel/g, ""), /[A-Za-z]{3,}/, "no English in the Chinese screen");
  await assertAccessible(page, "the cash screen");
  await screenshot(page, "cash-zh");
});

test("Cash: an amount that is no money is refused at its field; a remittance makes the outstanding fall", async () => {
  const { page } = session;
  await signIn(page);
  await openTab(page, "Cash");
  const before = await dayRow(page, "T-liu");
  assert.ok(before.outstanding > 0, "刘洋 holds cash");
  const form = page.locator("#remit-form");
  await form.getByLabel("Technician").selectOption({ label: "刘洋" });
  await form.getByLabel("Amount (yuan)").fill("ten");
  await form.getByRole("button", { name: "Record remittance" }).click();
  await page.locator("#remit-error-amount").getByText(/^amount: give the cash in yuan/).waitFor();
  // Zero reaches the server, which names the field.
  await form.getByLabel("Amount (yuan)").fill("0");
  await form.getByRole("button", { name: "Record remittance" }).click();
  await page.locator("#remit-error-amount").getByText(/^amount: give the cash handed over/).waitFor();

  await form.getByLabel("Amount (yuan)").fill("5.5");
  await form.getByRole("button", { name: "Record remittance" }).click();
  await page.locator("#flash").getByText(/^¥5\.50 remitted by 刘洋$/).waitFor();
  const afterRemit = await dayRow(page, "T-liu");
  assert.equal(afterRemit.outstanding, before.outstanding - 550);
  await assertAccessible(page, "the cash screen in English");
  await screenshot(page, "cash-en");
});

test("现金：a remittance entered wrongly is voided with a reason, stays listed struck through and counts no more", async () => {
  const { page } = session;
  await signIn(page, { zh: true });
  await openTab(page, "现金");
  const before = await dayRow(page, "T-liu");
  assert.ok(before.outstanding >= 200, "刘洋 holds cash");
  const form = page.locator("#remit-form");
  await form.getByLabel("技师").selectOption({ label: "刘洋" });
  await form.getByLabel("金额（元）").fill("1.00");
  await form.getByRole("button", { name: "确认交款" }).click();
  await page.locator("#flash").getByText("已登记刘洋交款 ¥1.00").waitFor();
  const entered = await dayRow(page, "T-liu");
  assert.equal(entered.outstanding, before.outstanding - 100);

  const row = page.locator('#cash tbody tr[data-technician="T-liu"]').last();
  const item = row.locator("li[data-remittance]").filter({ hasText: "交款 ¥1.00" }).last();
  await item.getByRole("button", { name: "作废这笔 ¥1.00 的交款" }).click();
  // No reason: refused next to the reason, nothing voided.
  await item.getByRole("button", { name: "确认作废" }).click();
  await item.locator(".field-error").getByText(/^作废原因：请填写作废的原因/).waitFor();
  assert.equal(await item.getByLabel("作废原因").getAttribute("aria-invalid"), "true");
  assert.equal((await dayRow(page, "T-liu")).outstanding, entered.outstanding, "nothing was voided");
  await assertAccessible(page, "voiding a remittance, refused");
  await screenshot(page, "cash-void-refused-zh");

  await item.getByLabel("作废原因").fill("金额有误");
  await item.getByRole("button", { name: "确认作废" }).click();
  await page.locator("#flash").getByText("已作废刘洋的交款 ¥1.00").waitFor();
  const voided = row.locator('li[data-voided="true"]').last();
  await voided.waitFor();
  assert.equal(await voided.locator("s").textContent(), "交款 ¥1.00，经手人 li.na");
  assert.match(await voided.textContent(), /（已由 li\.na 作废：金额有误）$/);
  assert.equal(await voided.getByRole("button").count(), 0, "a voided remittance cannot be voided again");
  const after = await dayRow(page, "T-liu");
  assert.equal(after.outstanding, before.outstanding, "the cash is in his hands again");
  assert.equal(after.remitted, before.remitted);
  const text = await page.locator("[data-view=cash]").innerText();
  assert.deepEqual(chineseProblems(text), []);
  await assertAccessible(page, "the cash screen with a voided remittance");
  await screenshot(page, "cash-voided-zh");
});
