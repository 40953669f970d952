// The Admin tab: an admin adds a technician, enrols a phone with a one-time
// code (shown with its QR code) that the phone exchanges once for its token,
// lists and revokes phones, and manages staff accounts — in English and
// Chinese, failing on page errors and axe violations.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { startServer, launchBrowser, openPage } = require("./harness");
const { openTab, assertAccessible, screenshot } = require("./desk");

let server;
let browser;
let adminPassword;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  adminPassword = /created admin "admin" with password "([^"]+)"/.exec(server.output())[1];
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function signInAsAdmin(page) {
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#who").getByText("admin (admin)").waitFor();
}

test("an admin adds a technician and enrols a phone with a one-time code the phone uses once", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signInAsAdmin(page);
  await openTab(page, "Admin");
  await page.locator("#devices tbody tr").filter({ hasText: "phone-wang" }).waitFor();

  // A new technician, with trades and a work phone.
  const tech = page.locator("#technician-form");
  await tech.getByLabel("Technician id").fill("T-qian");
  await tech.getByLabel("Name").fill("钱多多");
  await tech.getByLabel("Work phone").fill("400 820 1099");
  await tech.getByLabel("heating service").check();
  await tech.getByRole("button", { name: "Add technician" }).click();
  await page.locator("#flash").getByText("钱多多 added").waitFor();

  // Enrol the new technician's phone: picked by name, a code and its QR code.
  const enrol = page.locator("#enrol-form");
  await enrol.getByLabel("Technician").selectOption({ label: "钱多多 · heating service" });
  await enrol.getByLabel("Phone name").fill("phone-qian");
  await enrol.getByRole("button", { name: "Make enrolment code" }).click();
  const shown = page.locator("#enrol-code-text");
  await shown.getByText(/Enrolment code [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4} for phone-qian/).waitFor();
  const code = /[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}/.exec(await shown.textContent())[0];
  const qr = page.getByRole("img", { name: `QR code of enrolment code ${code}` });
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), "the QR code is drawn");
  await assertAccessible(page, "the Admin tab with an enrolment code");
  await screenshot(page, "admin-en");

  // The phone exchanges the code (typed in lower case) once for its token.
  const redeem = (c) => fetch(server.url + "api/enrol", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code: c }),
  });
  const first = await redeem(code.toLowerCase());
  assert.equal(first.status, 201);
  const enrolled = await first.json();
  assert.equal(enrolled.device_id, "phone-qian");
  assert.equal(enrolled.technician_id, "T-qian");
  const pulled = await fetch(server.url + "api/sync/pull", {
    method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + enrolled.token },
    body: JSON.stringify({ protocol_version: 1, device_id: "phone-qian", cursor: 0 }),
  });
  assert.equal(pulled.status, 200, "the token syncs");
  const again = await redeem(code);
  assert.equal(again.status, 401, "a code works once");

  // The list shows the phone; revoking it stops its token.
  await page.getByRole("button", { name: "Refresh" }).filter({ visible: true }).first().click();
  const row = page.locator("#devices tbody tr").filter({ hasText: "phone-qian" });
  await row.getByText("钱多多").waitFor();
  await row.getByRole("button", { name: "Revoke" }).click();
  await row.getByText("revoked").waitFor();
  const refused = await fetch(server.url + "api/sync/pull", {
    method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + enrolled.token },
    body: JSON.stringify({ protocol_version: 1, device_id: "phone-qian", cursor: 0 }),
  });
  assert.equal(refused.status, 401);

  // Staff accounts: create one, end its sessions, disable it.
  const form = page.locator("#user-form");
  await form.getByLabel("Account name").fill("wu.fang");
  await form.getByLabel("Initial passphrase").fill("wu-fang-2026");
  await form.getByLabel("Role").selectOption("dispatcher");
  await form.getByRole("button", { name: "Create account" }).click();
  const user = page.locator("#users tbody tr").filter({ hasText: "wu.fang" });
  await user.waitFor();
  await user.getByRole("button", { name: "End sessions" }).click();
  await page.locator("#flash").getByText("wu.fang signed out everywhere").waitFor();
  // wu.fang forgot the passphrase: the admin sets a new one, which then signs in.
  const reset = page.locator("#password-form");
  await reset.getByLabel("Account").selectOption("wu.fang");
  await reset.getByLabel("New passphrase").fill("wu-fang-reset-7");
  await reset.getByRole("button", { name: "Set password" }).click();
  await page.locator("#flash").getByText("new password set for wu.fang: signed out of 0 sessions").waitFor();
  assert.equal(await reset.getByLabel("New passphrase").inputValue(), "", "the passphrase is not left on screen");
  const signedIn = await page.evaluate(async () => (await fetch("/api/login", { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "wu.fang", password: "wu-fang-reset-7" }) })).status);
  assert.equal(signedIn, 200);
  await user.getByRole("button", { name: "Disable" }).click();
  await user.getByText("disabled").waitFor();

  // The same tab in Chinese.
  await page.getByRole("button", { name: "中文" }).click();
  await page.locator("#users tbody tr").filter({ hasText: "wu.fang" }).getByText("已停用").waitFor();
  await page.locator("#devices tbody tr").filter({ hasText: "phone-qian" }).getByText("已停用").waitFor();
  // The enrolment code made in English is described again in Chinese.
  assert.match(await page.locator("#enrol-code-text").textContent(), /^phone-qian 的注册码：/);
  await assertAccessible(page, "the Admin tab in Chinese");
  await screenshot(page, "admin-zh");
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

test("a dispatcher's Admin tab has phones and technicians but no staff accounts", async () => {
  const session = await openPage(browser, server.url);
  const { page } = session;
  await page.getByLabel("Username").fill("zhang.wei");
  await page.getByLabel("Password").fill("doorstep-demo");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#who").getByText("zhang.wei (dispatcher)").waitFor();
  await openTab(page, "Admin");
  await page.locator("#devices tbody tr").first().waitFor();
  assert.equal(await page.locator("#staff").isVisible(), false);
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});
