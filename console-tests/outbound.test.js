// What was sent about a work order, at the desk: its acceptance code
// (never the code itself), the customer notices with their delivery state,
// and a dead letter sent again from the order — in English and Chinese,
// against the providers' simulator, failing on page errors and axe
// violations.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");
const { startServer, launchBrowser, openPage } = require("./harness");
const { PASSWORD, signIn, openTab, assertAccessible, screenshot, chineseProblems } = require("./desk");

const SIMULATOR_BIN = path.resolve(__dirname, process.env.DOORSTEP_SIMULATOR_BIN ||
  path.join(path.dirname(process.env.DOORSTEP_SERVER_BIN || "../target/debug/doorstep-server"), "examples", "provider-simulator"));

let simulator;
let server;
let browser;
let session;

/** Starts the providers' simulator on a free port; resolves to { url, stop() }. */
function startSimulator() {
  const child = spawn(SIMULATOR_BIN, ["127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"], env: Object.assign({}, process.env, {
    DOORSTEP_SMS_SECRET_ID: "sim-id", DOORSTEP_SMS_SECRET_KEY: "sim-key",
  }) });
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGKILL");
  });
  return new Promise((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`no simulator at ${SIMULATOR_BIN}: ${e.message}`)));
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^Provider simulator listening on (http:\/\/\S+?)\/$/.exec(line);
      if (m) resolve({ url: m[1], stop });
    });
  });
}

/** Tells the simulator how to behave (`{"outage": true}`, `{}` to recover). */
async function behave(body) {
  const r = await fetch(simulator.url + "/_sim/behaviour", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.ok(r.ok, `${r.status} ${await r.text()}`);
}

/** The dispatcher's API, signed in as li.na. */
async function api(method, route, body) {
  const login = await fetch(server.url + "api/login", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "li.na", password: PASSWORD }) });
  const { token } = await login.json();
  const r = await fetch(server.url + route.replace(/^\//, ""), { method, headers: { "content-type": "application/json", authorization: "Bearer " + token },
    body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${route}: ${r.status} ${text}`);
  return JSON.parse(text);
}

before(async () => {
  simulator = await startSimulator();
  server = await startServer({
    DOORSTEP_SMS_ENDPOINT: simulator.url,
    DOORSTEP_SMS_SECRET_ID: "sim-id",
    DOORSTEP_SMS_SECRET_KEY: "sim-key",
    DOORSTEP_SMS_APP_ID: "1400000001",
    DOORSTEP_SMS_SIGN_NAME: "到家电脑服务",
    DOORSTEP_SMS_TEMPLATES: "appointment_confirmed=1001,acceptance_code=1005",
    DOORSTEP_NOTICE_QUIET_HOURS: "00:00-00:01",
    DOORSTEP_OUTBOX_POLL_MS: "200",
    DOORSTEP_OUTBOX_MAX_ATTEMPTS: "1",
  });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (simulator) await simulator.stop();
});

beforeEach(async () => { session = await openPage(browser, server.url); });

afterEach(async () => {
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

/** A computer-repair order taken with the customer's SMS consent and dispatched to 王磊: its id. */
async function dispatchedOrder(name, phone) {
  const start = new Date(Date.now() + 3 * 3600e3);
  const intake = await api("POST", "/api/intakes", {
    classification: "general",
    caller: { name, phone, address: "成都市武侯区天府大道北段 1700 号" },
    content: "笔记本开机蓝屏", trade: "computer_repair",
    product: { model: "ThinkPad X1", purchase_date: "2025-03-02", warranty: "out_of_warranty" },
    requested_window: { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3600e3).toISOString() },
    notice_consent: { consented: true, channel: "sms" },
  });
  const id = intake.intake.assignment_id;
  await api("POST", `/api/assignments/${id}/assign`, { technician: "T-wang" });
  return id;
}

/** Waits (at most ~10 s) until `ok()` holds. */
async function until(ok, what) {
  for (let i = 0; i < 50; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(what);
}

const notices = async (id) => (await api("GET", `/api/assignments/${id}/outbound`)).notices;

/** Opens the order of `customer` from the search. */
async function openOrder(page, customer, { zh }) {
  await openTab(page, zh ? "搜索" : "Search");
  await page.locator("#search-q").fill(customer);
  await page.locator("#search-form").getByRole("button").click();
  const row = page.locator("#search tbody tr").filter({ hasText: customer }).first();
  await row.getByRole("button", { name: zh ? "修改" : "Edit" }).click();
  await page.locator("#order-outbound li").first().waitFor();
}

test("the acceptance code's SMS goes out when the order is dispatched, and the order shows it delivered, never the code", async () => {
  const id = await dispatchedOrder("陈静", "139 8001 2468");
  await until(async () => (await notices(id)).some((n) => n.state === "delivered"), "the code's SMS was delivered");
  const { page } = session;
  await signIn(page);
  await openOrder(page, "陈静", { zh: false });
  const list = page.locator("#order-outbound");
  await list.getByText(/^Acceptance code issued /).waitFor();
  await list.locator("li").filter({ hasText: "Notice “acceptance code” by sms: delivered (1 attempts)" }).waitFor();
  const received = await (await fetch(simulator.url + "/_sim/received")).json();
  const sms = received.sms.find((r) => r.template_id === "1005" && r.outcome === "sent");
  assert.match(sms.params[0], /^\d{6}$/);
  assert.ok(!(await page.content()).includes(sms.params[0]), "the desk never sees the code");
  await assertAccessible(page, "the order's notices and integrations");
});

test("a dead letter is sent again from the order, in Chinese", async () => {
  await behave({ outage: true });
  const id = await dispatchedOrder("周敏", "138 0013 8000");
  await until(async () => (await notices(id)).some((n) => n.state === "dead"), "the notice became a dead letter");
  const { page } = session;
  await signIn(page, { zh: true });
  await openOrder(page, "周敏", { zh: true });
  const list = page.locator("#order-outbound");
  const line = list.locator("li").filter({ hasText: "“验收码”通知（短信）：未送达" });
  await line.waitFor();
  const text = await list.textContent();
  assert.match(text, /验收码已于 .* 发放/);
  assert.deepEqual(chineseProblems(text), [], text);
  assert.doesNotMatch(text.replace(/A-\d{8}-\d{4}/g, ""), /[A-Za-z]{3,}/, "no English in the Chinese screen");
  await assertAccessible(page, "a dead letter at the order");
  await screenshot(page, "order-outbound-zh");
  await behave({});
  await line.getByRole("button", { name: "重新发送" }).click();
  await page.locator("#flash").getByText("已重新排队发送").waitFor();
  await until(async () => (await notices(id)).every((n) => n.state === "delivered"), "the notice sent again was delivered");
});

test("a customer who lost the code gets a new one from the order, in Chinese; the old code is no longer the order's", async () => {
  const id = await dispatchedOrder("吴芳", "137 0013 7000");
  await until(async () => (await notices(id)).some((n) => n.state === "delivered"), "the first code's SMS was delivered");
  const sent = async () => (await (await fetch(simulator.url + "/_sim/received")).json()).sms
    .filter((r) => r.template_id === "1005" && r.outcome === "sent" && r.phone_numbers.includes("+8613700137000"))
    .map((r) => r.params[0]);
  const [first] = await sent();
  const { page } = session;
  await signIn(page, { zh: true });
  await openOrder(page, "吴芳", { zh: true });
  const list = page.locator("#order-outbound");
  await list.getByRole("button", { name: "重新发放验收码" }).click();
  await page.locator("#flash").getByText(/^已重新发放验收码：新验收码将发送给客户/).waitFor();
  await page.locator("#order-history li").first().getByText(/重新发放验收码/).waitFor();
  await until(async () => (await sent()).length === 2, "the new code's SMS was delivered");
  // The simulator answers before the server records the delivery: wait for
  // the order's own record of both, then read the page.
  await until(
    async () => (await notices(id)).filter((n) => n.state === "delivered").length >= 2,
    "the order records both codes' SMS as delivered",
  );
  const [, second] = await sent();
  assert.match(second, /^\d{6}$/);
  assert.ok(!(await page.content()).includes(second) && !(await page.content()).includes(first), "the desk never sees a code");
  await page.getByRole("button", { name: "返回", exact: true }).click();
  await openOrder(page, "吴芳", { zh: true });
  // The order's list may still be the one shown before: wait for the
  // second delivered line to render, then count.
  const delivered = list.locator("li").filter({ hasText: "“验收码”通知（短信）：已送达" });
  await delivered.nth(1).waitFor();
  assert.equal(await delivered.count(), 2, "both codes' SMS delivered");
  const text = await page.locator("[data-view=order]").innerText();
  assert.deepEqual(chineseProblems(text), [], text);
  await assertAccessible(page, "the order after a new acceptance code");
  await screenshot(page, "order-code-reissued-zh");
});
