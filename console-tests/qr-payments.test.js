// Pay by QR at the door, end to end: the technician's phone (the `doorstep
// device` CLI, a real device client) does a visit up to the accepted quote
// and asks the server for a WeChat Pay order of what is due; the server
// creates it at the providers' simulator through its outbox; the simulator
// plays the customer paying (WeChat Pay's signed, encrypted notification);
// the phone reads the order paid, and the work order's page lists it paid
// — provider, amount, paid time, transaction number — in Chinese and in
// English, axe-clean, screenshots saved.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const readline = require("node:readline");
const { startServer, launchBrowser, openPage } = require("./harness");
const { signIn, openTab, assertAccessible, screenshot, chineseProblems, orderFor } = require("./desk");
const { assertPhoneCli, runPhone, enrolSunsPhone } = require("./phone");

// The simulator is the server crate's example, built beside the server:
// cargo build -p doorstep-server --example provider-simulator
const SIMULATOR_BIN = path.resolve(__dirname, process.env.DOORSTEP_SIMULATOR_BIN ||
  path.join(path.dirname(process.env.DOORSTEP_SERVER_BIN || "../target/debug/doorstep-server"), "examples", "provider-simulator"));
// The committed test-only keys the simulator uses too (server/test-keys).
const KEYS = path.resolve(__dirname, "../server/test-keys");

let simulator;
let server;
let browser;
let dir;

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

/** A port free now: the server listens there, so the orders' notify URL can name it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  assertPhoneCli();
  simulator = await startSimulator();
  const port = await freePort();
  server = await startServer({
    DOORSTEP_WECHAT_PAY_ENDPOINT: simulator.url,
    DOORSTEP_WECHAT_PAY_MCHID: "1900000001",
    DOORSTEP_WECHAT_PAY_APPID: "wxd0000000000sim1",
    DOORSTEP_WECHAT_PAY_SERIAL_NO: "MERCHANT-SERIAL-TEST",
    DOORSTEP_WECHAT_PAY_PRIVATE_KEY_FILE: path.join(KEYS, "wechat-pay-merchant.pem"),
    DOORSTEP_WECHAT_PAY_PUBLIC_KEY_FILE: path.join(KEYS, "wechat-pay-platform.pub.pem"),
    DOORSTEP_WECHAT_PAY_API_V3_KEY: "doorstep-simulated-apiv3-key-32b",
    DOORSTEP_PAYMENT_NOTIFY_BASE_URL: `http://127.0.0.1:${port}`,
    DOORSTEP_OUTBOX_POLL_MS: "200",
    DOORSTEP_OUTBOX_RETRY_BASE_MS: "200",
    // The phone confirms the appointment with a dialable number.
    DOORSTEP_PRIVACY_MASK_UNBOUND: "false",
  }, { listen: `127.0.0.1:${port}` });
  browser = await launchBrowser();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "doorstep-phone-"));
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (simulator) await simulator.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const phone = (...args) => runPhone(path.join(dir, "phone.db"), ...args);

/** A photo command (the phone keeps only its digest here). */
function photo(moment) {
  const digest = crypto.createHash("sha256").update("qr-payments " + moment).digest("hex");
  return { type: "take_photo", moment, digest, size_bytes: 8192, width: 1280, height: 960 };
}

/** The visit up to the customer accepting the quote, as a script relative to the window start. */
function visitUpToTheQuote(start) {
  const at = (min) => new Date(start.getTime() + min * 60e3).toISOString();
  const lines = [
    [-120, { type: "log_call", outcome: "reached" }],
    [-119, { type: "confirm_appointment", address_confirmed: true, product_confirmed: true }],
    ...["tools", "parts", "drop_cloth", "shoe_covers", "warranty_sheet", "receipts", "fee_schedule", "work_permit"]
      .map((item) => [-60, { type: "check_kit_item", item }]),
    [-30, { type: "depart", travel_minutes: 20 }],
    [-8, { type: "arrive" }],
    [-7, { type: "check_appearance", items: ["uniform", "clean", "permit_visible"] }],
    [-7, { type: "knock", method: "bell" }],
    [-6, { type: "door_answered" }],
    [-6, { type: "enter", greeted: true, permit_shown: true }],
    [-5, { type: "put_on_shoe_covers" }],
    [-5, { type: "lay_drop_cloth" }],
    [5, { type: "record_diagnosis", fault_reproduced: true, cause: "启动继电器烧坏", parts: ["part_compressor_relay"], decision: "fix_on_site" }],
    [6, photo("nameplate")],
    [6, photo("fault_before")],
    [8, { type: "show_fee_schedule" }],
    [9, { type: "present_quote", quote: { lines: [{ item: "visit_fee" }, { item: "labour_basic" }, { item: "part_compressor_relay" }] } }],
    [10, { type: "accept_quote", revision: 1 }],
  ];
  return lines.map(([min, command]) => JSON.stringify({ at: at(min), command })).join("\n") + "\n";
}

test("the phone's WeChat Pay order is created through the outbox, paid by the customer, and shown paid on the order page", async () => {
  enrolSunsPhone(phone, "phone-sun-qr", server);
  const session = await openPage(browser, server.url);
  const { page } = session;
  await signIn(page, { zh: true });
  // A fridge repair for 孙浩 whose window started a moment ago.
  const start = new Date(Date.now() - 15 * 60e3);
  const id = await orderFor(page, {
    trade: "appliance_repair", fault_description: "冰箱不制冷",
    customer: { name: "严冬", phone: "139 0000 5678", address: "徐汇区漕溪北路 88 号", location: { lat: 31.19, lon: 121.43 } },
    product: { model: "BCD-470", purchase_date: "2023-05-01", warranty: "out_of_warranty" },
  }, { technician: "T-sun", start });

  // On the phone: the order arrives, the visit reaches the accepted quote.
  phone("sync");
  const script = path.join(dir, "visit.jsonl");
  fs.writeFileSync(script, visitUpToTheQuote(start));
  phone("run", "--assignment", id, script);
  // The phone asks for a WeChat Pay order (it syncs first) and waits for the QR link.
  const order = phone("qr-pay", "--assignment", id, "--provider", "wechat_pay", "--wait-secs", "30");
  assert.equal(order.state, "awaiting_payment", JSON.stringify(order));
  assert.match(order.code_url, /^weixin:\/\/wxpay\/bizpayurl\?pr=/);
  assert.match(order.out_trade_no, /^DS\d{8}[A-Z0-9]{16}$/);

  // The customer scans and pays: WeChat Pay's notification reaches the server.
  const paid = await (await fetch(simulator.url + "/_sim/wechat-pay/pay", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ out_trade_no: order.out_trade_no }),
  })).json();
  assert.equal(paid.status, 204, JSON.stringify(paid));
  const now = phone("qr-status", "--payment", order.payment_id);
  assert.equal(now.state, "paid");
  assert.ok(now.provider_transaction_id);

  // The order page lists it paid, in Chinese.
  await openTab(page, "搜索");
  await page.locator("#search-q").fill("严冬");
  await page.locator("#search-form").getByRole("button").click();
  await page.locator("#search tbody tr").filter({ hasText: "严冬" }).first().getByRole("button", { name: "修改" }).click();
  await page.locator("[data-view=order]").getByRole("heading", { name: "收款" }).waitFor();
  const line = page.locator("#order-payments li").filter({ hasText: order.out_trade_no });
  await line.locator(".paid").waitFor({ timeout: 20000 });
  const zh = await line.innerText();
  assert.match(zh, /^微信支付 · ¥\d+\.\d{2} · DS\d{8}[A-Z0-9]{16}——已支付（\d+月\d+日 \d{2}:\d{2}，交易号 \d+）$/, zh);
  assert.ok(zh.includes(now.provider_transaction_id), zh);
  assert.deepEqual(chineseProblems(zh), []);
  assert.doesNotMatch(zh.replace(order.out_trade_no, ""), /[A-Za-z]{3,}/, "no English in Chinese");
  await assertAccessible(page, "the order's payments in Chinese");
  await screenshot(page, "qr-payment-paid-zh");

  // And in English.
  await page.getByRole("button", { name: "English" }).click();
  await page.locator("[data-view=order]").getByRole("heading", { name: "Payments" }).waitFor();
  await page.locator("#order-payments li").filter({ hasText: "WeChat Pay" }).waitFor();
  const en = await page.locator("#order-payments li").filter({ hasText: order.out_trade_no }).innerText();
  assert.match(en, /^WeChat Pay · ¥\d+\.\d{2} · DS\w+ — Paid \(at .+, transaction \d+\)$/, en);
  await assertAccessible(page, "the order's payments in English");
  await screenshot(page, "qr-payment-paid-en");
  const errors = session.errors();
  await session.context.close();
  assert.deepEqual(errors, [], "no page errors or console errors");
});
