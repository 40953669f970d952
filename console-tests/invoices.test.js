// The work order's e-fapiao request (发票) at the desk, against a real
// server and the providers' simulator (Nuonuo's issue and result calls):
// a bad tax number is refused next to its field naming 纳税人识别号, a good
// one is issued and the invoice number comes back to the order; in Chinese
// and English, each failing on page errors and axe violations.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");
const { startServer, launchBrowser, openPage } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot, chineseProblems } = require("./desk");

// The simulator is the server crate's example, built beside the server:
// cargo build -p doorstep-server --example provider-simulator
const SIMULATOR_BIN = path.resolve(__dirname, process.env.DOORSTEP_SIMULATOR_BIN ||
  path.join(path.dirname(process.env.DOORSTEP_SERVER_BIN || "../target/debug/doorstep-server"), "examples", "provider-simulator"));

let simulator;
let server;
let browser;
let session;

/** Starts the providers' simulator on a free port; resolves to { url, stop() }. */
function startSimulator() {
  const child = spawn(SIMULATOR_BIN, ["127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  const errors = [];
  child.stderr.on("data", (d) => errors.push(String(d)));
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGKILL");
  });
  return new Promise((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`no simulator at ${SIMULATOR_BIN} (cargo build -p doorstep-server --example provider-simulator): ${e.message}`)));
    child.once("exit", (code) => reject(new Error(`the simulator exited (${code}): ${errors.join("")}`)));
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^Provider simulator listening on (http:\/\/\S+?)\/$/.exec(line);
      if (m) resolve({ url: m[1], stop });
    });
  });
}

before(async () => {
  simulator = await startSimulator();
  server = await startServer({
    DOORSTEP_INVOICE_ENDPOINT: simulator.url + "/open/v1/services",
    DOORSTEP_INVOICE_APP_KEY: "sim-app-key",
    DOORSTEP_INVOICE_APP_SECRET: "sim-app-secret",
    DOORSTEP_INVOICE_ACCESS_TOKEN: "sim-access-token",
    DOORSTEP_INVOICE_SELLER_TAX_NUMBER: "91350100M000100Y43",
    DOORSTEP_INVOICE_QUERY_DELAY_MS: "200",
    DOORSTEP_OUTBOX_POLL_MS: "200",
    DOORSTEP_OUTBOX_RETRY_BASE_MS: "200",
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
  // The refusals the tests provoke are 400 answers the browser logs.
  const errors = session.errors().filter((e) => !/status of 400 \(Bad Request\)/.test(e));
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});

/** Opens the order of a customer whose visit is done (and paid) from the search. */
async function openDoneOrder(page, customer, { zh }) {
  await openTab(page, zh ? "搜索" : "Search");
  await page.locator("#search-q").fill(customer);
  await page.locator("#search-form").getByRole("button").click();
  const row = page.locator("#search tbody tr").filter({ hasText: customer }).first();
  await row.getByRole("button", { name: zh ? "修改" : "Edit" }).click();
  await page.locator("#invoice-form").waitFor();
}

test("a dispatcher requests an e-fapiao: a bad tax number is refused at its field, then it is issued", async () => {
  const { page } = session;
  await signIn(page, { zh: true });
  await openDoneOrder(page, "黄梅", { zh: true });
  const section = page.locator("[data-view=order]");
  await section.getByRole("heading", { name: "发票" }).waitFor();
  await page.locator("#order-invoices").getByText("尚未申请发票").waitFor();

  const form = page.locator("#invoice-form");
  await form.getByLabel("购买方类型").selectOption("company");
  await form.getByLabel("发票抬头").fill("上海某某科技有限公司");
  // One character off: the check character does not match.
  await form.getByLabel("纳税人识别号").fill("91110000600037341K");
  await form.getByLabel("电子邮箱").fill("fapiao@example.com");
  await form.getByRole("button", { name: "申请开票" }).click();
  const error = page.locator("#invoice-error-tax_number");
  await error.getByText(/^纳税人识别号：应为 18 位统一社会信用代码/).waitFor();
  assert.match(await error.textContent(), /校验码/);
  assert.equal(await form.getByLabel("纳税人识别号").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#order-invoices li").count(), 1, "nothing was filed");
  await assertAccessible(page, "the invoice form with its refusal");
  await screenshot(page, "invoice-refused-zh");

  await form.getByLabel("纳税人识别号").fill("91110000600037341L");
  await form.getByRole("button", { name: "申请开票" }).click();
  assert.equal(await error.textContent(), "", "the refusal is gone");
  const issued = page.locator("#order-invoices li .issued");
  await issued.getByText(/^已开票，发票号码 \d{20}$/).waitFor({ timeout: 20000 });
  const text = await page.locator("[data-view=order]").innerText();
  assert.deepEqual(chineseProblems(await page.locator("#order-invoices").innerText()), []);
  assert.doesNotMatch(await page.locator("#invoice-form").innerText(), /[A-Za-z]{3,}/, "no English in the Chinese form");
  assert.match(text, /单位 · 上海某某科技有限公司 · 91110000600037341L · ¥\d+\.\d{2}——已开票/);
  await assertAccessible(page, "the issued invoice");
  await screenshot(page, "invoice-issued-zh");

  // In English: the same request, and the refusal of a bad code in English.
  await page.getByRole("button", { name: "English" }).click();
  await page.locator("#order-invoices li .issued").getByText(/^issued, invoice number \d{20}$/).waitFor();
  await form.getByLabel("Buyer type").selectOption("company");
  await form.getByLabel("Invoice title").fill("Shanghai Example Ltd");
  await form.getByLabel("Tax number").fill("9111000060003734OL");
  await form.getByLabel("E-mail").fill("fapiao@example.com");
  await form.getByRole("button", { name: "Request invoice" }).click();
  await error.getByText(/^tax_number: expected the 18-character unified social credit code/).waitFor();
  assert.match(await error.textContent(), /'O' is not allowed/);
  await assertAccessible(page, "the invoice form in English");
  await screenshot(page, "invoice-en");
});

test("a personal buyer needs no tax number, and a missing contact is refused at the e-mail", async () => {
  const { page } = session;
  await signIn(page);
  await openDoneOrder(page, "徐刚", { zh: false });
  const form = page.locator("#invoice-form");
  await form.getByLabel("Invoice title").fill("徐刚");
  await form.getByRole("button", { name: "Request invoice" }).click();
  await page.locator("#invoice-error-email").getByText(/^email: give an e-mail address or a mobile number/).waitFor();
  await form.getByLabel("Mobile for the invoice").fill("139 1111 2222");
  await form.getByRole("button", { name: "Request invoice" }).click();
  const filed = page.locator("#order-invoices li").filter({ hasText: "personal · 徐刚" });
  await filed.waitFor();
  assert.equal(await page.locator("#invoice-error-email").textContent(), "");
  assert.doesNotMatch(await filed.textContent(), /9\d{17}/, "no tax number");
});
