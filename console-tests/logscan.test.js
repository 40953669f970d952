// The log scan's rules (logscan.js, the same as the server tests'
// log_scan.rs) bite: spaced and dashed numbers found, ids, order numbers,
// times and amounts not taken for phones; a known customer's phone and
// address found on their line; a server whose log holds a customer's
// address fails its stop(). No browser.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { startServer } = require("./harness");
const { PASSWORD } = require("./desk");
const { mobileNumbers, normalisedPhone, noCustomers, addCustomer, leaks, demoCustomers } = require("./logscan");

test("contiguous, spaced and dashed mobile numbers are found", () => {
  assert.deepEqual(mobileNumbers("call 13812345678."), ["13812345678"]);
  assert.deepEqual(mobileNumbers('phone="138 0013 8000"'), ["13800138000"]);
  assert.deepEqual(mobileNumbers("(+86 186-0021-3344)"), ["18600213344"]);
  assert.deepEqual(mobileNumbers("(+86 13912345678)"), ["13912345678"]);
  assert.deepEqual(mobileNumbers("+8615012345678"), ["15012345678"]);
  assert.deepEqual(mobileNumbers("电话1591234 5678请回电"), ["15912345678"]);
  assert.deepEqual(mobileNumbers("seq 12 138 0013 8000 ok"), ["13800138000"]);
});

test("ids, order numbers, times and amounts are not mobile numbers", () => {
  for (const text of [
    "at 1764601234567 ms and 12345678901",
    "token d_3fa15355672129bc and a15355672129",
    "device=phone-13800138000x sha256=9f13800138000e2d",
    "order A-20261118-0004 visit 019a7e3c-1391-7876-8123-4abcdef01234",
    "2026-12-01T06:50:34.138001380Z INFO latency_ms=2.13912345678 status=201",
    "receipt R-2026-1 fen 14500 at 2026-12-01 13:45",
    "ids 138 0013 8000a and b138 0013 8000",
  ]) {
    assert.deepEqual(mobileNumbers(text), [], text);
  }
});

test("a known customer's phone and address are found on their line", () => {
  const customers = addCustomer(noCustomers(), { phone: "021 6234 5678", address: "上海市徐汇区漕溪北路 1 号" });
  addCustomer(customers, { phone: "12", address: "ab" });
  assert.deepEqual([...customers.phones], [normalisedPhone("021-6234-5678")]);
  const text = 'ok line\n INFO caller=021-6234-5678 request answered\nDEBUG customer address="上海市徐汇区漕溪北路 1 号"\nINFO 2162345678\n';
  const found = leaks(text, customers);
  assert.equal(found.length, 2, JSON.stringify(found));
  assert.equal(found[0].what, "customer phone 02162345678");
  assert.match(found[0].line, /caller=/);
  assert.match(found[1].what, /^customer address/);
  assert.deepEqual(leaks("ok\n A-20261118-0004 fen 14500\n", customers), []);
});

test("the demo's customers are read from server/src/demo.rs", () => {
  const demo = demoCustomers();
  assert.ok(demo.phones.has("13800138001"), [...demo.phones].join(" "));
  assert.ok(demo.addresses.has("静安区武定路 12 号"), [...demo.addresses].join(" "));
  assert.ok(demo.addresses.size >= 10);
});

test("stopping a server whose log holds a customer's address fails, naming the line", async () => {
  const server = await startServer();
  const login = await fetch(new URL("api/login", server.url), { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "li.na", password: PASSWORD }) });
  const { token } = await login.json();
  // An address every request's log line holds.
  const start = new Date(Date.now() + 3 * 3600e3);
  const created = await fetch(new URL("api/assignments", server.url), { method: "POST",
    headers: { authorization: "Bearer " + token, "content-type": "application/json" },
    body: JSON.stringify({ trade: "appliance_repair", customer: { name: "测试", phone: "021 5555 1234", address: "request answered" },
      requested_window: { start: start.toISOString(), end: new Date(start.getTime() + 7200e3).toISOString() } }) });
  assert.equal(created.status, 201, await created.text());
  await assert.rejects(server.stop(), (e) => {
    assert.match(e.message, /leaks personal data/);
    assert.match(e.message, /customer address "request answered": .*request answered/);
    return true;
  });
});
