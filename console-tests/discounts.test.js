// Discount approvals on the work order page (优惠审批, STANDARDS §2.12:
// discounts only with a center approval): approving one online, the short
// codes read out by phone to a technician whose phone cannot sync (checked
// against the HMAC computed here from the secret the phone got at
// enrolment), refusals naming the field in Chinese with what was typed kept,
// and the panel closed on a done or cancelled order — each failing on page
// errors and axe violations, saved as screenshots.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { browserSuite } = require("./harness");
const { signIn, orderFor, openTab, assertAccessible, screenshot, assertFitsPhone, chineseProblems, timeProblems } = require("./desk");

const suite = browserSuite({ before, after, beforeEach, afterEach });

/**
 * The short code approving `amount` fen off `assignment` under a phone's
 * discount secret (hex), as core/src/discount_approval.rs `short_code`
 * makes it: HMAC-SHA256 of "doorstep-discount-v1\n{order}\n{amount}", then
 * RFC 4226 dynamic truncation to eight digits.
 */
function shortCode(secretHex, assignment, amount) {
  const mac = crypto.createHmac("sha256", Buffer.from(secretHex, "hex"))
    .update(`doorstep-discount-v1\n${assignment}\n${amount}`).digest();
  const word = mac.readUInt32BE(mac[31] & 0x0f) & 0x7fffffff;
  return String(word % 1e8).padStart(8, "0");
}

/** An API call as the signed-in page; the answer's JSON. */
function call(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const res = await fetch(path, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { authorization: "Bearer " + sessionStorage.getItem("doorstep.token"), "content-type": "application/json" },
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }, [method, path, body]);
}

/** A work order for `customer` in `trade`, given to `technician` when named. */
const newOrder = (page, customer, trade, technician) => orderFor(page, {
  trade, fault_description: "冰箱不制冷",
  customer: { name: customer, phone: "139 0000 " + String(1000 + Math.floor(Math.random() * 9000)), address: "徐汇区漕溪北路 18 号" },
  product: { model: "BCD-470", warranty: "out_of_warranty" },
}, { technician });

/** Opens the order page of `customer`'s order from the board (in Chinese). */
async function openFromBoard(page, customer) {
  await page.locator("#refresh-board").click();
  await page.locator("#board tbody tr").filter({ hasText: customer }).getByRole("button", { name: "修改" }).click();
  await page.locator("#order-history li").first().waitFor();
  await page.locator("#order-discounts li").first().waitFor();
}

/** Opens the order page of `customer`'s order through the search (a done or cancelled one has no button on the board). */
async function openFromSearch(page, customer) {
  await openTab(page, "搜索");
  await page.locator("#search-q").fill(customer);
  await page.locator("#search-form").getByRole("button", { name: "搜索" }).click();
  await page.locator("#search tbody tr").filter({ hasText: customer }).first().getByRole("button", { name: "修改" }).click();
  await page.locator("#order-history li").first().waitFor();
  await page.locator("#order-discounts li").first().waitFor();
}

/** What a Chinese screen must not show, as the Chinese walk checks it. */
async function assertReadsChinese(page, what) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.deepEqual([...chineseProblems(text), ...timeProblems(text)], [], `${what} reads as Chinese`);
}

test("a dispatcher approves a discount online: the panel lists it and the history says so, in Chinese and English", async () => {
  const { page } = suite.session;
  await signIn(page, { zh: true });
  const id = await newOrder(page, "严华", "appliance_repair", "T-sun");
  await openFromBoard(page, "严华");
  const panel = page.locator("#discount-approve-form");
  assert.equal(await page.locator("#order-discounts").textContent(), "此工单尚无优惠审批");

  // Nothing typed, or nothing off: refused beside the field, naming it; what was typed stays.
  const limit = panel.getByLabel("优惠上限（元）");
  const refusal = "优惠上限：请以元为单位填写 0.01 至 1,000,000 之间的金额，如 30 或 30.50。";
  await panel.getByRole("button", { name: "批准优惠" }).click();
  await page.locator("#discount-error-max_amount").getByText(refusal).waitFor();
  assert.equal(await limit.getAttribute("aria-invalid"), "true");
  await limit.fill("0");
  await panel.getByRole("button", { name: "批准优惠" }).click();
  await page.locator("#discount-error-max_amount").getByText(refusal).waitFor();
  assert.equal(await limit.inputValue(), "0", "the refused text stays");
  await assertAccessible(page, "the discount panel with a refusal");
  await screenshot(page, "discount-refused-zh");

  // Someone else changes the order meanwhile: the approval is refused for the version shown, and the 30 typed stays.
  suite.expectRefusals(409);
  await call(page, "PATCH", "/api/assignments/" + id, { notes: "另一位调度员的备注" });
  await limit.fill("30");
  await panel.getByRole("button", { name: "批准优惠" }).click();
  await page.locator("#discount-approve-error").getByText(/^工单已被他人修改（当前版本 \d+）：请刷新后重新修改。$/).waitFor();
  assert.equal(await limit.inputValue(), "30");
  assert.equal(((await call(page, "GET", "/api/assignments/" + id)).discount_approvals || []).length, 0, "nothing approved");

  // Read again, ¥30 approved: the order's next version carries it.
  await page.getByRole("button", { name: "返回", exact: true }).click();
  await openFromBoard(page, "严华");
  await limit.fill("30");
  await panel.getByRole("button", { name: "批准优惠" }).click();
  const approved = page.locator("#order-discounts li").first();
  await approved.getByText(/最多优惠 ¥30\.00/).waitFor();
  const stored = await call(page, "GET", "/api/assignments/" + id);
  assert.equal(stored.discount_approvals.length, 1);
  const { reference, max_amount: max } = stored.discount_approvals[0];
  assert.equal(max, 3000, "sent in fen");
  assert.equal(reference, `${id}-d${stored.version}`);
  assert.match(await approved.textContent(),
    new RegExp(`^${reference}：最多优惠 ¥30\\.00，li\\.na 批准，\\d{1,2}月\\d{1,2}日 \\d{2}:\\d{2}$`));
  assert.equal(await limit.inputValue(), "", "the form is ready for the next one");
  await page.locator("#flash:not(.error)").getByText(`已为 ${id} 批准最多优惠 ¥30.00；技师手机下次同步时收到`).waitFor();
  const latest = page.locator("#order-history li").first();
  await latest.getByText(/批准优惠——最多优惠 ¥30\.00$/).waitFor();
  assert.match(await latest.textContent(), new RegExp(`^\\d{1,2}月\\d{1,2}日 \\d{2}:\\d{2}，li\\.na，第 ${stored.version} 版：批准优惠——最多优惠 ¥30\\.00$`));
  await assertReadsChinese(page, "the order page with an approval");
  await assertAccessible(page, "the discount panel with an approval");
  await screenshot(page, "discount-approved-zh");

  // The same in English, without opening the order again.
  await page.getByRole("button", { name: "English" }).click();
  await approved.getByText(/at most ¥30\.00 off, approved by li\.na, \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/).waitFor();
  await latest.getByText(/version \d+: discount approved — at most ¥30\.00 off$/).waitFor();
  await page.getByRole("heading", { name: "Discount approval" }).waitFor();
  await page.locator("#order-title").getByText(`Work order ${id} · 严华`).waitFor();
  await page.locator("#discount-approve-form").getByLabel("Discount limit (yuan)").waitFor();
  const text = await page.evaluate(() => document.body.innerText);
  assert.deepEqual([...text.matchAll(/[a-z]+_[a-z_]+/g)].map((m) => m[0]), [], "no raw code in English");
  await assertAccessible(page, "the discount panel in English");
  await screenshot(page, "discount-approved-en");
});

test("a short code per phone for a technician who cannot sync, right for the order and the amount; refusals in Chinese", async () => {
  const { page } = suite.session;
  await signIn(page, { zh: true });
  suite.expectRefusals(409);

  // 王磊's only phone was enrolled before discount codes: no code can be made, and the desk is told what to do.
  await newOrder(page, "钟立", "appliance_repair", "T-wang");
  await openFromBoard(page, "钟立");
  const form = page.locator("#discount-code-form");
  const amount = form.getByLabel("优惠金额（元）");
  await amount.fill("12.50");
  await form.getByRole("button", { name: "获取短码" }).click();
  await page.locator("#discount-code-error")
    .getByText("这位技师的手机注册于启用优惠验证码之前，无法核验离线验证码：请改为在线批准优惠，或重新注册手机。").waitFor();
  assert.equal(await amount.inputValue(), "12.50", "the typed amount stays");
  assert.equal(await page.locator("#discount-codes").isHidden(), true);
  await assertReadsChinese(page, "the refusal without a discount secret");
  await screenshot(page, "discount-no-secret-zh");
  await page.getByRole("button", { name: "返回", exact: true }).click();

  // 孙浩 gets two new phones; each holds its own discount secret (shown once, at enrolment).
  const secrets = {};
  for (const device of ["phone-sun-2", "phone-sun-3"]) {
    const enrolled = await call(page, "POST", "/api/technicians/T-sun/devices", { device_id: device });
    assert.match(enrolled.discount_secret, /^[0-9a-f]{64}$/);
    secrets[device] = enrolled.discount_secret;
  }
  const id = await newOrder(page, "秦岚", "appliance_repair", "T-sun");
  await openFromBoard(page, "秦岚");

  // 0 or nothing is no discount: refused beside the field, naming it; nothing asked of the server.
  const refusal = "优惠金额：请以元为单位填写准确的优惠金额（0.01 至 1,000,000），如 12.50。";
  for (const typed of ["0", "", "12.505"]) {
    await amount.fill(typed);
    await form.getByRole("button", { name: "获取短码" }).click();
    await page.locator("#discount-error-amount").getByText(refusal).waitFor();
    assert.equal(await amount.inputValue(), typed);
    assert.equal(await amount.getAttribute("aria-invalid"), "true");
  }

  await amount.fill("12.50");
  await form.getByRole("button", { name: "获取短码" }).click();
  const codes = page.locator("#discount-codes li");
  await codes.first().waitFor();
  assert.equal(await page.locator("#discount-error-amount").textContent(), "", "the refusal is gone");
  assert.equal(await amount.getAttribute("aria-invalid"), null);
  // One per phone with a secret (the demo phone has none), each the HMAC of this order and 1250 fen under its secret.
  assert.deepEqual(await codes.evaluateAll((lis) => lis.map((li) => li.dataset.device)), ["phone-sun-2", "phone-sun-3"]);
  for (const [device, secret] of Object.entries(secrets)) {
    const row = page.locator(`#discount-codes li[data-device="${device}"]`);
    const expected = shortCode(secret, id, 1250);
    assert.equal(await row.locator(".code").textContent(), expected.slice(0, 4) + " " + expected.slice(4), `${device}'s code, in two groups of four`);
    assert.match(await row.textContent(), new RegExp(`手机 ${device}`));
    const size = await row.locator(".code").evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    assert.ok(size >= 28, `the code is big enough to read out (${size} px)`);
  }
  assert.notEqual(await codes.nth(0).locator(".code").textContent(), await codes.nth(1).locator(".code").textContent(),
    "each phone has its own code");
  const box = page.locator("#discount-codes");
  assert.match(await box.textContent(), new RegExp(`^孙浩 的短码：工单 ${id}，优惠 ¥12\\.50`));
  await box.getByText("请电话告知技师；仅对该工单该金额有效").waitFor();
  assert.equal(await amount.inputValue(), "");
  await assertReadsChinese(page, "the short codes");
  await assertAccessible(page, "the short codes");
  await screenshot(page, "discount-codes-zh");

  // Another amount is another code.
  await amount.fill("12.51");
  await form.getByRole("button", { name: "获取短码" }).click();
  await box.getByText(/优惠 ¥12\.51/).waitFor();
  const second = shortCode(secrets["phone-sun-2"], id, 1251);
  assert.equal(await page.locator('#discount-codes li[data-device="phone-sun-2"] .code').textContent(), second.slice(0, 4) + " " + second.slice(4));

  // On a phone's screen too.
  await page.setViewportSize({ width: 390, height: 844 });
  await assertFitsPhone(page, "the short codes");
  await screenshot(page, "discount-codes-390");
});

test("the panel is closed, saying why, on a done or a cancelled order; short codes wait for a technician", async () => {
  const { page } = suite.session;
  await signIn(page, { zh: true });

  // An order nobody has yet: approving online is open, short codes are not.
  await newOrder(page, "邵明", "appliance_repair");
  await openFromBoard(page, "邵明");
  await page.locator("#discount-code-note").getByText("短码按技师的手机生成：请先派单。").waitFor();
  assert.equal(await page.locator("#discount-code-form").getByRole("button", { name: "获取短码" }).isDisabled(), true);
  assert.equal(await page.locator("#discount-approve-form").getByRole("button", { name: "批准优惠" }).isEnabled(), true);
  await assertAccessible(page, "the discount panel of an unassigned order");
  await screenshot(page, "discount-unassigned-zh");
  await page.getByRole("button", { name: "返回", exact: true }).click();

  // Cancelled.
  const id = await newOrder(page, "钱进", "appliance_repair", "T-sun");
  await call(page, "POST", `/api/assignments/${id}/cancel`, { reason: "客户自行修好" });
  await openFromSearch(page, "钱进");
  await page.locator("#discount-closed").getByText("工单已取消，不能再批准优惠。").waitFor();
  assert.equal(await page.locator("#discount-forms").isHidden(), true);
  assert.equal(await page.locator("#order-discounts").textContent(), "此工单尚无优惠审批");
  await assertReadsChinese(page, "a cancelled order's discount panel");
  await assertAccessible(page, "a cancelled order's discount panel");
  await screenshot(page, "discount-cancelled-zh");

  // Done: 黄梅's refrigerator was repaired this morning (the demo).
  await openFromSearch(page, "黄梅");
  await page.locator("#discount-closed").getByText("工单已完成，不能再批准优惠。").waitFor();
  assert.equal(await page.locator("#discount-forms").isHidden(), true);
  await assertReadsChinese(page, "a done order's discount panel");
  await screenshot(page, "discount-done-zh");

  await page.getByRole("button", { name: "English" }).click();
  await page.locator("#discount-closed").getByText("This work order is done: no discount can be approved any more").waitFor();
  await screenshot(page, "discount-done-en");
});
