// Company playbooks on the Admin tab (服务规范版本; docs/API.md "Company
// playbooks"): an admin publishes a company version from a JSON file and
// sees it listed by the trade's name, its fee schedule and its signature
// checked under the server's playbook key; refusals (the browser's for text
// that is not JSON, the server's naming the playbook's field) stand under
// the form in the console's language with what was pasted kept; a
// dispatcher sees the list but no form — each failing on page errors and
// axe violations, saved as screenshots.
//
// fixtures/appliance_repair_v2.json is core/src/playbook/trades/appliance_repair.toml
// as JSON (python3 tomllib) with version 2 and a visit fee of ¥35.00 instead of ¥30.00.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { browserSuite } = require("./harness");
const { PASSWORD, openTab, assertAccessible, screenshot, assertFitsPhone, chineseProblems, timeProblems } = require("./desk");

const FIXTURE = path.join(__dirname, "fixtures", "appliance_repair_v2.json");
const PLAYBOOK = JSON.parse(fs.readFileSync(FIXTURE, "utf8"));

const suite = browserSuite({ before, after, beforeEach, afterEach });
/** The admin's password, as the server printed it when it started. */
const adminPassword = () => /created admin "admin" with password "([^"]+)"/.exec(suite.server.output())[1];

/** Signs in (as the admin by default, in Chinese when `zh`) and opens the Admin tab at its playbooks. */
async function openPlaybooks(page, { username = "admin", zh = false } = {}) {
  if (zh) await page.getByRole("button", { name: "中文" }).click();
  await page.getByLabel(zh ? "用户名" : "Username").fill(username);
  await page.getByLabel(zh ? "密码" : "Password").fill(username === "admin" ? adminPassword() : PASSWORD);
  await page.getByRole("button", { name: zh ? "登录" : "Log in" }).click();
  await page.locator("#who").filter({ hasText: username }).waitFor();
  await openTab(page, zh ? "管理" : "Admin");
  await page.locator("#playbooks tbody tr").first().waitFor();
}

/** An API call as the signed-in page: { status, body }. */
function call(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const res = await fetch(path, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "content-type": "application/json" },
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }, [method, path, body]);
}

/** The cells of the list's rows, as the admin reads them. */
const listed = (page) => page.locator("#playbooks tbody tr").evaluateAll((trs) =>
  trs.map((tr) => [...tr.cells].map((td) => td.textContent)));

/** What a Chinese screen must not show, as the Chinese walk checks it. */
async function assertReadsChinese(page, what) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.deepEqual([...chineseProblems(text), ...timeProblems(text)], [], `${what} reads as Chinese`);
}

test("an admin publishes a company version from a JSON file and sees it listed with the translated trade name, its fees and its signature", async () => {
  const { page } = suite.session;
  await openPlaybooks(page, { zh: true });
  // None yet: every trade walks the shipped playbook, and the list says so.
  assert.deepEqual(await listed(page), [["尚未发布公司版本：各业务均按系统自带的服务规范执行"]]);
  await page.getByRole("heading", { name: "服务规范版本" }).waitFor();

  // The file is read into the text box (what is sent is what is seen), then published.
  const form = page.locator("#playbook-form");
  assert.equal(await page.locator("#playbook-file-name").textContent(), "未选择文件");
  await form.getByLabel("选择 JSON 文件").setInputFiles(FIXTURE);
  await page.locator("#playbook-file-name").getByText("appliance_repair_v2.json").waitFor();
  const json = form.getByLabel("或在此粘贴 JSON 内容");
  await page.waitForFunction(() => document.querySelector("#playbook-form textarea").value.length > 0);
  assert.deepEqual(JSON.parse(await json.inputValue()), PLAYBOOK);
  await form.getByRole("button", { name: "发布" }).click();
  await page.locator("#flash:not(.error)").getByText("已发布家电维修第 2 版：技师手机下次同步时收到；已开始的上门仍按原版本执行").waitFor();
  assert.equal(await json.inputValue(), "", "the form is ready for the next one");
  assert.equal(await page.locator("#playbook-file-name").textContent(), "未选择文件");

  // Listed by the trade's name, never its id; the time in the business zone as the core reads it.
  await page.locator("#playbooks tbody tr").filter({ hasText: "家电维修" }).waitFor();
  const rows = await listed(page);
  assert.equal(rows.length, 1);
  const [trade, version, by, at, actions] = rows[0];
  assert.deepEqual([trade, version, by, actions], ["家电维修", "第 2 版", "admin", "查看"]);
  assert.match(at, /^\d{1,2}月\d{1,2}日 \d{2}:\d{2}$/);
  const stored = (await call(page, "GET", "/api/playbooks")).body;
  assert.deepEqual(stored.playbooks.map((p) => [p.trade, p.version, p.published_by]), [["appliance_repair", 2, "admin"]]);
  assert.match(stored.playbook_key, /^04[0-9a-f]{128}$/);

  // The version's fee schedule (its own: the visit fee is ¥35.00 in version 2) and its signature, checked here.
  await page.getByRole("button", { name: "查看家电维修第 2 版" }).click();
  const detail = page.locator("#playbook-detail");
  await detail.getByRole("heading", { name: /^家电维修第 2 版的收费标准/ }).waitFor();
  const fees = await page.locator("#playbook-fees tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.equal(fees.length, PLAYBOOK.fees.length);
  assert.deepEqual(fees[0], ["上门费", "上门", "¥35.00"]);
  assert.deepEqual(fees[6], ["电脑控制板", "配件", "¥320.00"]);
  const signed = (await call(page, "GET", "/api/playbooks/appliance_repair/2")).body;
  assert.equal(JSON.parse(signed.body).fees[0].price, 3500);
  assert.equal(await page.locator("#playbook-signature").textContent(), `签名 ${signed.signature.slice(0, 16)}…：已通过服务器规范密钥的验证`);
  await assertReadsChinese(page, "the company playbooks");
  await assertAccessible(page, "the company playbooks in Chinese");
  await screenshot(page, "playbooks-zh");

  // The same in English, the details following the language.
  await page.getByRole("button", { name: "English" }).click();
  await detail.getByRole("heading", { name: /^Fee schedule of appliance repair version 2/ }).waitFor();
  assert.deepEqual((await listed(page)).map((r) => [r[0], r[1], r[2], r[4]]), [["appliance repair", "version 2", "admin", "View"]]);
  assert.match((await listed(page))[0][3], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
  assert.deepEqual(await page.locator("#playbook-fees tbody tr").first().evaluate((tr) => [...tr.cells].map((td) => td.textContent)),
    ["Visit fee", "visit", "¥35.00"]);
  assert.equal(await page.locator("#playbook-signature").textContent(),
    `Signature ${signed.signature.slice(0, 16)}…: verified under the server's playbook key`);
  await page.locator("#playbook-form").getByRole("button", { name: "Publish" }).waitFor();
  const text = await page.evaluate(() => document.body.innerText);
  assert.deepEqual([...text.matchAll(/[a-z]+_[a-z_]+/g)].map((m) => m[0]), [], "no raw code in English");
  await assertAccessible(page, "the company playbooks in English");
  await screenshot(page, "playbooks-en");

  // On a phone's screen too.
  await page.setViewportSize({ width: 390, height: 844 });
  await assertFitsPhone(page, "the company playbooks");
  await page.getByRole("button", { name: "Close" }).filter({ visible: true }).last().click();
  assert.equal(await detail.isHidden(), true);
});

test("a refused version names the field and the server's message in Chinese, and what was pasted stays", async () => {
  const { page } = suite.session;
  suite.expectRefusals(400, 409);
  await openPlaybooks(page, { zh: true });
  const form = page.locator("#playbook-form");
  await form.getByLabel("或在此粘贴 JSON 内容").waitFor();
  const json = form.locator("textarea"); // by its place: its label changes with the language below
  const publish = form.getByRole("button", { name: "发布" });
  const error = page.locator("#playbook-error");
  const posts = [];
  page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith("/api/playbooks")) posts.push(r.url()); });

  // Not JSON: refused here, naming where, and not sent.
  await publish.click();
  await error.getByText("请先选择 JSON 文件或粘贴服务规范的 JSON 内容。").waitFor();
  const broken = '{\n  "id": "appliance_repair",\n  "version": 3,,\n  "fees": []\n}';
  await json.fill(broken);
  await publish.click();
  await error.getByText("内容不是有效的 JSON：第 3 行第 16 列有误，未发布。").waitFor();
  assert.equal(await json.getAttribute("aria-invalid"), "true");
  assert.equal(await json.inputValue(), broken, "the pasted text stays");
  await json.fill('{"id": "appliance_repair", "version": 3');
  await publish.click();
  await error.getByText("内容不是有效的 JSON：内容不完整（缺少右括号或引号），未发布。").waitFor();
  await json.fill("[1, 2]");
  await publish.click();
  await error.getByText("服务规范须是一个用 { } 括起的 JSON 对象，未发布。").waitFor();
  assert.deepEqual(posts, [], "nothing was sent");

  // A negative price: the server names the field, the console names the fee; the message is the server's Chinese one.
  const negative = structuredClone(PLAYBOOK);
  negative.version = 3;
  negative.fees[0].price = -5;
  const pasted = JSON.stringify(negative, null, 2);
  await json.fill(pasted);
  await publish.click();
  await error.getByText("字段 fees[0].price（上门费）：请求中有一项取值无效：请检查后重新提交。").waitFor();
  assert.equal(posts.length, 1);
  assert.equal(await json.inputValue(), pasted, "the pasted text stays");
  assert.equal(await json.getAttribute("aria-invalid"), "true");
  // The caret stands at the refused price, in the visit fee's item.
  const [caret, end] = await json.evaluate((t) => [t.selectionStart, t.selectionEnd]);
  assert.equal(pasted.slice(caret, end), '"price"', "the refused field is selected");
  assert.ok(pasted.lastIndexOf('"visit_fee"', caret) > pasted.indexOf('"fees"'));
  assert.equal(await page.locator("#flash").textContent(), "");
  await assertReadsChinese(page, "a refused playbook");
  await assertAccessible(page, "a refused playbook");
  await screenshot(page, "playbooks-refused-zh");

  // Version 1 is the shipped one: not newer than the version in force.
  const old = JSON.stringify(Object.assign(structuredClone(PLAYBOOK), { version: 1 }));
  await json.fill(old);
  await publish.click();
  await error.getByText(/^字段 version：该服务规范已有第 \d+ 版生效：请把版本号改为更大的数字后再发布。$/).waitFor();
  assert.equal(await json.inputValue(), old);

  // In English: the refusal written in Chinese goes, the text stays; sent again, the server's English words.
  await page.getByRole("button", { name: "English" }).click();
  await page.locator("#playbook-form").getByRole("button", { name: "Publish" }).waitFor();
  assert.equal(await error.textContent(), "");
  assert.equal(await json.inputValue(), old);
  await json.fill(pasted);
  await page.locator("#playbook-form").getByRole("button", { name: "Publish" }).click();
  await error.getByText("Field fees[0].price (Visit fee): negative price -5").waitFor();
  await json.fill(old);
  await page.locator("#playbook-form").getByRole("button", { name: "Publish" }).click();
  await error.getByText(/^Field version: playbook appliance repair version 1 is not newer than version \d+ in force: publish version \d+ or later$/).waitFor();
  await json.fill(broken);
  await page.locator("#playbook-form").getByRole("button", { name: "Publish" }).click();
  await error.getByText("The text is not valid JSON: look at line 3, column 16; nothing was sent").waitFor();
  await assertAccessible(page, "a refused playbook in English");
  await screenshot(page, "playbooks-refused-en");
  const versions = (await call(page, "GET", "/api/playbooks")).body.playbooks.map((p) => p.version);
  assert.ok(!versions.includes(3) && !versions.includes(1), "nothing refused was published");
});

test("a dispatcher sees the published versions but no publish form", async () => {
  const { page } = suite.session;
  await openPlaybooks(page, { username: "zhang.wei", zh: true });
  // The first test published version 2; this one stands on its own when run alone.
  const rows = await listed(page);
  assert.ok(rows.length >= 1);
  if (rows[0].length > 1) {
    assert.deepEqual(rows[0].slice(0, 2), ["家电维修", "第 2 版"]);
    await page.getByRole("button", { name: "查看家电维修第 2 版" }).click();
    await page.locator("#playbook-signature").getByText(/已通过服务器规范密钥的验证$/).waitFor();
  } else assert.deepEqual(rows, [["尚未发布公司版本：各业务均按系统自带的服务规范执行"]]);
  assert.equal(await page.locator("#playbook-publish").isHidden(), true);
  assert.equal(await page.locator("#playbook-form").isVisible(), false);
  assert.equal(await page.getByRole("button", { name: "发布", exact: true }).count(), 0);
  // The server refuses a dispatcher too (the console only follows it).
  const refused = await call(page, "POST", "/api/playbooks", Object.assign(structuredClone(PLAYBOOK), { version: 9 }));
  assert.equal(refused.status, 403);
  suite.expectRefusals(403);
  await assertReadsChinese(page, "a dispatcher's company playbooks");
  await assertAccessible(page, "a dispatcher's company playbooks");
  await screenshot(page, "playbooks-dispatcher-zh");
});
