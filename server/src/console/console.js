// Doorstep dispatch console: a thin client of the server's JSON API.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const TRADES = ["appliance_repair", "computer_repair", "water_delivery", "home_care",
  "property_maintenance", "heating_service"];
let token = sessionStorage.getItem("doorstep.token");
let technicians = [];
let current = "board";

// The console speaks English or Simplified Chinese (the choice is kept in
// localStorage). The page's fixed text is written in English and translated
// in place; the rest goes through t(). Server messages stay as sent.
const ZH = {
  "Doorstep — dispatch console": "Doorstep — 派单台", "Doorstep dispatch": "Doorstep 派单台",
  "Log in": "登录", "Log out": "退出", "Username": "用户名", "Password": "密码",
  "Board": "工单看板", "Intake": "受理", "Reminders": "催办", "Conflicts": "冲突", "Callbacks": "回访",
  "Reconciliation": "对账", "KPIs": "考核指标", "Roster": "技师",
  "Assignments": "工单", "Refresh": "刷新", "all": "全部", "open": "待派", "assigned": "已派",
  "handed_back": "已退回", "done": "已完成", "cancelled": "已取消",
  "Id": "编号", "Customer": "客户", "Trade": "业务", "Priority": "优先级", "Status": "状态",
  "Technician": "技师", "Window": "预约时间", "Confirmed": "时间确认", "v": "版本", "Actions": "操作",
  "New request": "新受理", "Class": "类别", "general repair": "一般维修", "urgent repair": "紧急维修",
  "complex": "复杂", "complaint / repeat": "投诉 / 重复", "consultation": "咨询", "Caller name": "来电人",
  "Phone": "电话", "Address": "地址", "Product model": "产品型号", "Window start": "预约开始",
  "Window end": "预约结束", "Content": "内容", "Answer (consultation)": "答复(咨询)",
  "Record request": "记录受理", "Overdue (1-hour rule)": "超时(1 小时规则)", "Assignment": "工单",
  "Received": "受理时间", "Overdue (min)": "超时(分钟)", "Level": "级别", "Missing": "缺少",
  "Visit": "上门", "Conflict": "冲突", "Stage": "阶段", "Decide": "处理",
  "Callbacks due (next 24 h)": "待回访(24 小时内)", "Draw this month's sample": "抽取本月样本",
  "Due": "到期", "Reason": "原因", "Record": "记录", "Daily reconciliation": "每日对账", "Run": "运行",
  "Outcome": "结果", "Sign-off": "签字", "Findings": "问题", "day": "按日", "technician": "按技师",
  "trade": "按业务", "Group": "分组", "Visits": "上门数", "On time": "准时", "First-visit fix": "一次修复",
  "Satisfaction": "满意度", "Callbacks done": "回访完成", "Response ≤ 24 h": "24 小时内响应",
  "Technicians": "技师", "Name": "姓名", "Trades": "业务", "Devices": "设备", "Open": "未完成",
  "Closed today": "今日完成", "appliance_repair": "家电维修", "computer_repair": "电脑维修",
  "water_delivery": "送水", "home_care": "居家护理", "property_maintenance": "物业维修",
  "heating_service": "供暖服务", "nothing to show": "无内容", "yes": "是", "no": "否",
  "Assign": "派单", "Reassign": "改派", "Window confirmed": "时间已确认", "Cancel": "取消",
  "Center's change stands": "维持中心的决定", "Give back to technician": "交还技师",
  "Satisfied": "满意", "Not satisfied": "不满意", "Not reached": "未联系上",
  "none qualified": "无合格技师",
  "Why is it cancelled?": "取消原因?", "Note for the record (optional)": "记录备注(可选)",
  "Note (optional)": "备注(可选)", "{id} assigned to {tech}": "{id} 已派给 {tech}",
  "{id} reassigned to {tech}": "{id} 已改派给 {tech}", "{id} cancelled": "{id} 已取消",
  "conflict resolved": "冲突已处理", "callback recorded": "回访已记录", "recorded": "已记录",
  "recorded; assignment {id} created": "已记录;已建工单 {id}",
  "sample drawn: {sampled} of {served} served customers": "已抽样:{served} 位已服务客户中的 {sampled} 位",
  "session expired: log in again": "会话已过期:请重新登录",
  "wrong username or password": "用户名或密码错误", "dispatcher": "调度员", "admin": "管理员",
  "{date}: {closed} closed visits, {clean} clean, {findings} with findings":
    "{date}:完成上门 {closed} 次,无问题 {clean} 次,有问题 {findings} 次",
  "ok": "正常", "normal": "普通", "urgent": "紧急", "same_day": "当日", "escalated": "升级",
  // Visits: the list and one visit's detail.
  "Visits (tab)": "上门记录", "Started": "出发", "Arrived": "到达", "Closed": "结束", "Trip": "趟次",
  "verified": "已验证", "broken": "验证失败", "declined": "客户拒签", "none": "未签字",
  "late": "迟到", "late {n} min": "迟到 {n} 分钟", "on time": "准时", "{n} min early": "提前 {n} 分钟",
  "Visit {id}": "上门 {id}", "Customer and assignment": "客户与工单", "Timeline": "时间线", "History": "服务记录",
  "Quote": "报价", "Payment": "收款", "Ratings and comment": "评价与留言",
  "Device": "设备", "Fault": "故障", "Product": "产品", "Window agreed": "约定时间",
  "Request received": "受理时间", "Set off": "出发", "Signed": "签字", "Item": "项目", "Kind": "类型",
  "Qty": "数量", "Unit price": "单价", "Amount": "金额", "Who pays": "付款方",
  "customer": "客户", "warranty": "保修", "free": "免费", "Customer total": "客户应付",
  "Covered by warranty": "保修承担", "Deposit": "押金", "Discount": "优惠", "Accepted": "已确认",
  "Revision": "版本", "no quote": "无报价", "no payment": "未收款", "Collected": "实收",
  "Paid in total": "累计实收", "Still due": "仍欠", "Method": "方式", "Receipt": "票据",
  "cash": "现金", "card": "刷卡", "mobile": "移动支付", "bank_transfer": "银行转账", "iou": "欠条",
  "Quality": "质量", "Attitude": "态度", "Comment": "留言",
  "no ratings": "无评价", "Result": "验证结果", "Problem": "问题", "Report digest": "报告摘要",
  "Evidence chain": "证据链", "Signature strokes": "签名笔迹", "Report version": "报告版本",
  "intact": "完整", "broken chain": "断开", "match": "一致", "do not match": "不一致",
  "Declined at": "拒签时间", "Decision": "处理结果", "Decided by": "处理人",
  "waiting for a decision": "待处理", "no conflict": "无冲突", "cancelled_after_start": "出发后取消",
  "reassigned_after_start": "出发后改派", "Close": "关闭", "Events": "事件数",
  // A visit's record and its service report.
  "Diagnosis and work": "诊断与维修", "Cause": "故障原因", "Fault reproduced": "故障复现",
  "Repair decision": "处理方式", "fix_on_site": "现场维修", "take_back": "带回维修", "missing_part": "待配件",
  "Other faults": "其他故障", "Test run": "试机", "passed": "通过", "failed": "未通过",
  "passed, to be confirmed": "通过，待回访确认", "no test run": "无试机记录", "no diagnosis": "无诊断",
  "Work done": "维修内容", "Time": "时间", "Work": "内容", "repair": "维修", "disk_or_os": "硬盘或系统",
  "install": "安装", "care": "护理", "Parts": "配件", "Part": "配件", "Old serial": "旧件序列号",
  "New serial": "新件序列号", "Photos": "照片", "Signature": "签名",
  "Service report": "服务报告", "PDF (中文)": "PDF（中文）", "PDF (English)": "PDF（英文）", "HTML": "网页版",
  "Create customer link": "生成客户链接", "Copy": "复制", "copied": "已复制",
  "Customer link": "客户链接", "link created {created}, expires {expires}": "链接生成于 {created}，{expires} 过期",
  "link expired {expires}": "链接已于 {expires} 过期",
  "no customer link yet": "尚无客户链接",
  "the link is shown once: copy it now": "链接只显示这一次：请立即复制",
  "{name} downloaded": "已下载 {name}",
  // The dispatch board, the technician picker, the map and live updates
  // (board.js, picker.js, map.js, live.js).
  "Day board": "调度看板", "Day": "日期", "Unassigned": "待派工单", "Map": "地图",
  "Map: customers and technicians": "地图：客户与技师",
  "no window": "未约时间", "conflict": "冲突", "on site": "已到场", "en route": "在途",
  "confirmed": "时间已确认", "not confirmed": "时间未确认", "unassigned": "待派",
  "Assign {customer}": "派单：{customer}", "{customer} assigned to {name}": "{customer} 已派给 {name}",
  "{customer} reassigned to {name}": "{customer} 已改派给 {name}", "{customer} moved to {time}": "{customer} 已改到 {time}",
  "; ": "；", ", ": "，",
  "{customer} was changed by someone else meanwhile: the board shows the latest now":
    "{customer} 刚被他人修改：看板已显示最新内容，请重新操作。",
  "Technician for {customer}": "为 {customer} 选择技师", "Qualified technicians, best first": "合格技师（推荐在前）",
  "Start": "开始时间", "Save": "保存", "busy: {n} overlapping": "忙：{n} 单时间重叠", "free at that time": "该时段空闲",
  "{n} jobs that day": "当天 {n} 单", "{n} min free before": "之前空闲 {n} 分钟", "{n} min free after": "之后空闲 {n} 分钟",
  "position unknown": "位置未知", "{km} km away": "距离 {km} 公里", "{m} m away": "距离 {m} 米",
  "live": "实时更新中", "reconnecting…": "正在重新连接…", "Technician position": "技师位置",
  "{name}, last seen {time}": "{name}，最后位置时间 {time}", "Customers ({n})": "客户（{n}）", "Technicians' last positions": "技师最后位置",
  "no map tiles configured: markers on a blank background": "未配置地图底图：仅显示标记",
  "Zoom in": "放大", "Zoom out": "缩小",
};
// Stage and outcome labels come from the server (the core's one table) in
// both languages; English values are written in lower case like the
// console's other values.
const label = (text) => text == null ? "—" : lang === "zh" ? text.zh : text.en.toLowerCase();
/** A sign-off status, flagged when the signature does not hold or was refused. */
function signoffCell(tr, v) {
  const bad = v.signoff === "broken" || v.signoff === "declined";
  const td = cell(tr, (bad ? "⚠ " : "") + t(v.signoff) + (v.signoff_problem ? ": " + v.signoff_problem : ""));
  if (bad) td.className = "flagged";
  return td;
}
let lang = localStorage.getItem("doorstep.lang") || (/^zh/i.test(navigator.language) ? "zh" : "en");
function t(text, vars) {
  const s = (lang === "zh" && ZH[text]) || text;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}
const english = new WeakMap(); // text node → its English original
function translatePage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("Doorstep — dispatch console");
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  $("#lang").lang = lang === "zh" ? "en" : "zh-CN";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => n.parentElement.closest("tbody, script, #flash, #who, #lang, #recon-summary, #visit-detail, #lanes, #unassigned-list, #unassigned-count, #board-axis, #live-status, #map, #map-legend, #map-note, dialog")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!english.has(n)) english.set(n, n.nodeValue);
    const en = english.get(n), key = en.trim();
    // data-t names a key of its own where the English word means two things.
    const own = n.parentElement.dataset.t;
    if (key) n.nodeValue = en.replace(key, (lang === "zh" && own && ZH[own]) || t(key));
  }
}

function flash(msg, isError) {
  const f = $("#flash");
  f.textContent = msg || "";
  f.className = isError ? "error" : "";
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: Object.assign({ "content-type": "application/json" },
      token ? { authorization: "Bearer " + token } : {}),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && path !== "/api/login") { logout(); throw new Error(t("session expired: log in again")); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = new Error((data && data.error && data.error.message) || res.statusText);
    err.code = data && data.error && data.error.code;
    throw err;
  }
  return data;
}

function cell(tr, value) {
  const td = document.createElement("td");
  if (value instanceof Node) td.appendChild(value); else td.textContent = value == null ? "" : String(value);
  tr.appendChild(td);
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.textContent = t(label);
  b.addEventListener("click", async () => {
    try { await onClick(); } catch (e) { flash(e.message, true); }
  });
  return b;
}

function fill(tableId, rows, render) {
  const body = $("#" + tableId + " tbody");
  body.replaceChildren();
  for (const r of rows) { const tr = document.createElement("tr"); render(tr, r); body.appendChild(tr); }
  if (!rows.length) {
    const tr = document.createElement("tr");
    cell(tr, t("nothing to show")).colSpan = $("#" + tableId + " thead tr").children.length;
    body.appendChild(tr);
  }
}

// Times are shown in the business time zone (from /api/me), not the browser's.
let businessZone;
const time = (when) => when ? new Date(when).toLocaleString(lang === "zh" ? "zh-CN" : undefined, businessZone ? { timeZone: businessZone } : {}) : "";
const pct = (r) => r.rate == null ? "—" : `${Math.round(r.rate * 100)} % (${r.numerator}/${r.denominator})`;

/** The technician picker (picker.js): resolves to { id, name }, or null. */
async function pickTechnician(a) {
  const chosen = await window.doorstepConsole.pick(a);
  return chosen && chosen.technician;
}

const loaders = {
  async board() {
    const status = $("#status-filter").value;
    const rows = await api("GET", "/api/assignments" + (status ? "?status=" + status : ""));
    fill("board", rows, (tr, a) => {
      const c = a.customer || {};
      cell(tr, a.id);
      cell(tr, [c.name, c.address, a.fault_description].filter(Boolean).join(" · "));
      cell(tr, t(a.trade)); cell(tr, t(a.priority));
      cell(tr, t(a.status) + (a.status === "cancelled" && a.cancel_reason ? ": " + a.cancel_reason : ""));
      cell(tr, a.technician || "—");
      cell(tr, a.requested_window ? time(a.requested_window.start) : "—");
      cell(tr, a.window_confirmed ? t("yes") : t("no")); cell(tr, a.version);
      const actions = document.createElement("span");
      if (a.status === "open") actions.appendChild(button("Assign", async () => {
        const tech = await pickTechnician(a); if (!tech) return;
        await api("POST", `/api/assignments/${a.id}/assign`, { technician: tech.id, expected_version: a.version });
        flash(t("{id} assigned to {tech}", { id: a.id, tech: tech.name })); loaders.board();
      }));
      if (a.status === "assigned" || a.status === "handed_back") actions.appendChild(button("Reassign", async () => {
        const tech = await pickTechnician(a); if (!tech) return;
        await api("POST", `/api/assignments/${a.id}/reassign`, { technician: tech.id, expected_version: a.version });
        flash(t("{id} reassigned to {tech}", { id: a.id, tech: tech.name })); loaders.board();
      }));
      if (a.status === "assigned" && !a.window_confirmed) actions.appendChild(button("Window confirmed", async () => {
        await api("PATCH", `/api/assignments/${a.id}`, { window_confirmed: true, expected_version: a.version });
        loaders.board();
      }));
      if (a.status !== "cancelled" && a.status !== "done") actions.appendChild(button("Cancel", async () => {
        const reason = prompt(t("Why is it cancelled?")); if (!reason) return;
        await api("POST", `/api/assignments/${a.id}/cancel`, { reason, expected_version: a.version });
        flash(t("{id} cancelled", { id: a.id })); loaders.board();
      }));
      cell(tr, actions);
    });
  },
  async visits() {
    const assignment = $("#visit-filter").value.trim();
    const [rows, assignments] = await Promise.all([
      api("GET", "/api/visits" + (assignment ? "?assignment_id=" + encodeURIComponent(assignment) : "")),
      api("GET", "/api/assignments").catch(() => []),
    ]);
    const customers = Object.fromEntries(assignments.map((a) => [a.id, (a.customer || {}).name]));
    // Newest first: by when the technician set off (the server's order otherwise).
    const when = (v) => Date.parse(v.started_at || v.closed_at || "") || 0;
    rows.sort((a, b) => when(b) - when(a));
    fill("visits", rows, (tr, v) => {
      tr.dataset.visit = v.visit_id;
      tr.classList.toggle("selected", v.visit_id === openVisit);
      cell(tr, "…" + v.visit_id.slice(-8)).title = v.visit_id; // UUIDv7: the tail tells them apart
      cell(tr, v.assignment_id); cell(tr, customers[v.assignment_id] || "—"); cell(tr, v.technician_id);
      cell(tr, t(v.trade)); cell(tr, label(v.stage_label)); cell(tr, label(v.outcome_label));
      cell(tr, v.trip); cell(tr, time(v.started_at));
      const arrived = cell(tr, time(v.arrived_at) + (v.late ? " (" + t("late") + ")" : ""));
      if (v.late) arrived.className = "late";
      cell(tr, time(v.closed_at)); signoffCell(tr, v);
      tr.addEventListener("click", () => showVisit(v.visit_id).catch((e) => flash(e.message, true)));
    });
    if (openVisit) await showVisit(openVisit);
  },
  async intake() {},
  async reminders() {
    const rows = await api("GET", "/api/reminders");
    fill("reminders", rows, (tr, r) => {
      cell(tr, r.assignment_id); cell(tr, r.priority); cell(tr, time(r.received_at));
      cell(tr, r.overdue_minutes); cell(tr, r.level).className = r.level; cell(tr, r.missing.join(", "));
    });
  },
  async conflicts() {
    const rows = await api("GET", "/api/conflicts");
    fill("conflicts", rows, (tr, v) => {
      cell(tr, v.visit_id); cell(tr, v.assignment_id); cell(tr, v.technician_id);
      cell(tr, t(v.conflict)); cell(tr, label(v.stage_label));
      const d = document.createElement("span");
      for (const [label, decision] of [["Center's change stands", "keep_center"], ["Give back to technician", "reinstate_technician"]]) {
        d.appendChild(button(label, async () => {
          const note = prompt(t("Note for the record (optional)")) || undefined;
          await api("POST", `/api/visits/${v.visit_id}/resolve`, { decision, note });
          flash(t("conflict resolved")); loaders.conflicts();
        }));
      }
      cell(tr, d);
    });
  },
  async callbacks() {
    // Due now and in the next 24 hours, so the desk can plan the day.
    const until = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
    const rows = await api("GET", "/api/callbacks?until=" + encodeURIComponent(until));
    fill("callbacks", rows, (tr, c) => {
      cell(tr, time(c.due_at)); cell(tr, c.reason); cell(tr, c.customer_name); cell(tr, c.customer_phone);
      cell(tr, c.assignment_id);
      const d = document.createElement("span");
      const record = (reached, satisfied) => async () => {
        const note = prompt(t("Note (optional)")) || undefined;
        await api("POST", "/api/callbacks/result", { visit_id: c.visit_id, reason: c.reason, reached, satisfied, note });
        flash(t("callback recorded")); loaders.callbacks();
      };
      d.appendChild(button("Satisfied", record(true, true)));
      d.appendChild(button("Not satisfied", record(true, false)));
      d.appendChild(button("Not reached", record(false, undefined)));
      cell(tr, d);
    });
  },
  async reconciliation() {
    const date = $("#recon-date").value;
    const r = await api("GET", "/api/reconciliation" + (date ? "?date=" + date : ""));
    $("#recon-summary").textContent = t("{date}: {closed} closed visits, {clean} clean, {findings} with findings",
      { date: r.date, closed: r.closed, clean: r.clean, findings: r.with_findings });
    fill("reconciliation", r.visits, (tr, v) => {
      cell(tr, v.visit_id); cell(tr, v.technician_id); cell(tr, label(v.outcome_label)); signoffCell(tr, v);
      cell(tr, v.findings.map((f) => (f.label ? label(f.label) + ": " : "") + f.message).join("; ") || t("ok"));
    });
  },
  async kpis() {
    const r = await api("GET", "/api/kpis?by=" + $("#kpi-by").value);
    fill("kpis", r.groups, (tr, k) => {
      cell(tr, k.group); cell(tr, k.visits); cell(tr, pct(k.on_time_arrival)); cell(tr, pct(k.first_visit_fix));
      cell(tr, pct(k.satisfaction)); cell(tr, pct(k.callback_completion)); cell(tr, pct(k.response_within_24h));
    });
  },
  async roster() {
    technicians = await api("GET", "/api/technicians");
    fill("roster", technicians, (tr, x) => {
      cell(tr, x.id); cell(tr, x.name); cell(tr, x.trades.map((k) => t(k)).join(", ")); cell(tr, x.devices);
      cell(tr, x.open_assignments); cell(tr, x.closed_today);
    });
  },
};

// ---- one visit, read-only: what a dispatcher needs to reconcile it
let openVisit = null;

/** A two-column table: [label, value] rows (a value may be a Node). */
function kv(pairs) {
  const table = document.createElement("table");
  table.className = "kv";
  const body = table.createTBody();
  for (const [k, v] of pairs) {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.textContent = t(k); tr.appendChild(th);
    cell(tr, v == null || v === "" ? "—" : v);
  }
  return table;
}

function heading(text) {
  const h = document.createElement("h3");
  h.textContent = text;
  return h;
}

function punctuality(p) {
  if (!p) return "";
  if (p.tier === "early") return t("{n} min early", { n: p.minutes_early });
  if (p.tier === "on_time") return t("on time");
  return t("late {n} min", { n: p.minutes_late });
}

/** Fetches an authenticated file and hands it to the browser as a download. */
async function download(path, fallbackName) {
  const res = await fetch(path, { headers: token ? { authorization: "Bearer " + token } : {} });
  if (res.status === 401) { logout(); throw new Error(t("session expired: log in again")); }
  if (!res.ok) {
    const data = await res.json().catch(() => null);
    throw new Error((data && data.error && data.error.message) || res.statusText);
  }
  const named = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "");
  const name = named ? named[1] : fallbackName;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await res.blob());
  a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  flash(t("{name} downloaded", { name }));
}

/** A table with a header row and text cells; `id` names it for tests. */
function grid(id, headers, rows) {
  const table = document.createElement("table");
  table.id = id;
  const head = table.createTHead().insertRow();
  for (const h of headers) { const th = document.createElement("th"); th.textContent = t(h); head.appendChild(th); }
  const body = table.createTBody();
  for (const r of rows) { const tr = body.insertRow(); for (const c of r) cell(tr, c == null || c === "" ? "—" : c); }
  return table;
}

/** Diagnosis, work, parts, test run and photos of a visit's state. */
async function recordSections(box, s) {
  box.appendChild(heading(t("Diagnosis and work")));
  const dg = s.diagnosis, run = s.test_run;
  const test = run ? t(run.passed ? (run.uncertain ? "passed, to be confirmed" : "passed") : "failed") + " · " + time(run.at)
    : t("no test run");
  box.appendChild(kv(dg ? [
    ["Cause", dg.cause], ["Fault reproduced", t(dg.fault_reproduced ? "yes" : "no")],
    ["Repair decision", t(dg.decision)], ["Other faults", (s.hidden_faults || []).join("; ")], ["Test run", test],
  ] : [["Cause", t("no diagnosis")], ["Test run", test]]));
  const work = s.work || [];
  if (work.length) {
    box.appendChild(heading(t("Work done")));
    box.appendChild(grid("visit-work", ["Time", "Kind", "Work"], work.map((w) => [time(w.at), t(w.kind), w.description])));
  }
  const parts = work.flatMap((w) => w.parts_used || []);
  if (parts.length) {
    box.appendChild(heading(t("Parts")));
    box.appendChild(grid("visit-parts", ["Part", "Old serial", "New serial"], parts.map((p) => [p.item, p.old_serial, p.new_serial])));
  }
  // Photos join with report format 2; the section shows only when a visit
  // has some whose bytes have reached the server.
  if ((s.photos || []).length) {
    const { photos } = await api("GET", "/api/visits/" + encodeURIComponent(openVisit) + "/photos");
    const uploaded = photos.filter((p) => p.uploaded);
    if (uploaded.length) {
      box.appendChild(heading(t("Photos")));
      const strip = document.createElement("div");
      strip.id = "visit-photos";
      for (const p of uploaded) {
        // The photo needs the dispatcher's token, which an <img> cannot send.
        const res = await fetch(p.url, { headers: { authorization: "Bearer " + token } });
        if (!res.ok) continue;
        const url = URL.createObjectURL(await res.blob());
        const a = document.createElement("a"); a.href = url; a.target = "_blank";
        const img = document.createElement("img"); img.src = url; img.alt = p.moment; img.loading = "lazy";
        a.appendChild(img); strip.appendChild(a);
      }
      box.appendChild(strip);
    }
  }
}

/** The customer's signature, redrawn by the server from its strokes. */
async function signatureImage(id) {
  const res = await fetch(`/api/visits/${encodeURIComponent(id)}/signature.svg`, { headers: { authorization: "Bearer " + token } });
  if (!res.ok) return null;
  const img = document.createElement("img");
  img.id = "visit-signature";
  img.alt = t("Signature");
  img.src = URL.createObjectURL(new Blob([await res.text()], { type: "image/svg+xml" }));
  return img;
}

/** The service report of a closed visit: PDF and HTML, and the customer link. */
async function reportSection(box, v) {
  box.appendChild(heading(t("Service report")));
  const id = encodeURIComponent(v.visit_id);
  const actions = document.createElement("div");
  actions.id = "visit-report";
  actions.appendChild(button("PDF (中文)", () => download(`/api/visits/${id}/report.pdf?lang=zh-CN`, "service-report-zh-CN.pdf")));
  actions.appendChild(button("PDF (English)", () => download(`/api/visits/${id}/report.pdf?lang=en`, "service-report-en.pdf")));
  actions.appendChild(button("HTML", async () => {
    const res = await fetch(`/api/visits/${id}/report.html?lang=${lang === "zh" ? "zh-CN" : "en"}`, { headers: { authorization: "Bearer " + token } });
    if (!res.ok) throw new Error(res.statusText);
    window.open(URL.createObjectURL(new Blob([await res.text()], { type: "text/html" })), "_blank");
  }));
  const linkBox = document.createElement("div");
  linkBox.id = "visit-report-link";
  const status = document.createElement("span");
  const showStatus = (l) => {
    status.textContent = !l ? t("no customer link yet") : l.expired ? t("link expired {expires}", { expires: time(l.expires_at) })
      : t("link created {created}, expires {expires}", { created: time(l.created_at), expires: time(l.expires_at) });
  };
  actions.appendChild(button("Create customer link", async () => {
    const link = await api("POST", `/api/visits/${id}/report-link`);
    const field = document.createElement("input");
    field.readOnly = true; field.value = link.url; field.size = 60; field.id = "customer-link";
    const copy = button("Copy", async () => {
      try { await navigator.clipboard.writeText(link.url); } catch (e) { field.select(); document.execCommand("copy"); }
      flash(t("copied"));
    });
    showStatus({ created_at: link.created_at, expires_at: link.expires_at });
    linkBox.replaceChildren(field, copy, document.createElement("br"), status);
    flash(t("the link is shown once: copy it now"));
  }));
  box.appendChild(actions);
  linkBox.appendChild(status);
  box.appendChild(linkBox);
  const { link } = await api("GET", `/api/visits/${id}/report-link`);
  showStatus(link);
}

async function showVisit(id) {
  const { visit: v, state: s, display, history } = await api("GET", "/api/visits/" + encodeURIComponent(id));
  openVisit = id;
  document.querySelectorAll("#visits tbody tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.visit === id));
  const a = s.assignment || {}, c = a.customer || {}, q = s.quote, p = s.payment, so = s.sign_off;
  const d = display || { quote_lines: [] }; // labels and amounts as the core formats them
  const box = $("#visit-detail");
  box.replaceChildren();
  const title = heading(t("Visit {id}", { id: v.visit_id }));
  const close = button("Close", () => { openVisit = null; box.hidden = true; loaders.visits(); });
  title.appendChild(document.createTextNode(" ")); title.appendChild(close);
  box.appendChild(title);

  box.appendChild(heading(t("Customer and assignment")));
  box.appendChild(kv([
    ["Customer", [c.name, c.phone, c.address].filter(Boolean).join(" · ")],
    ["Assignment", v.assignment_id + (a.version ? " (v" + a.version + ")" : "")],
    ["Trade", t(v.trade)], ["Fault", a.fault_description],
    ["Product", a.product && a.product.model],
    ["Technician", v.technician_id], ["Device", v.device_id],
    ["Stage", label(v.stage_label)], ["Outcome", label(v.outcome_label)], ["Trip", v.trip],
  ]));

  box.appendChild(heading(t("Timeline")));
  const arrival = s.arrival;
  const arrived = document.createElement("span");
  arrived.textContent = time(v.arrived_at || (arrival && arrival.at)) +
    (arrival ? " — " + punctuality(arrival.punctuality) : v.late ? " — " + t("late") : "");
  if (v.late) arrived.className = "late";
  const w = s.window;
  box.appendChild(kv([
    ["Request received", time(a.received_at)],
    ["Window agreed", w ? time(w.start) + " – " + time(w.end) + " (" + t(s.window_confirmed ? "yes" : "no") + ")" : ""],
    ["Set off", time(v.started_at)], ["Arrived", v.arrived_at || arrival ? arrived : ""],
    ["Signed", so ? time(so.evidence.signed_at) : s.declined ? time(s.declined.at) : ""],
    ["Closed", time(v.closed_at)], ["Events", v.event_count],
  ]));

  await recordSections(box, s);

  box.appendChild(heading(t("Quote")));
  if (q) {
    const table = document.createElement("table");
    table.id = "visit-quote";
    const head = table.createTHead().insertRow();
    for (const h of ["Item", "Kind", "Qty", "Unit price", "Amount", "Who pays"]) {
      const th = document.createElement("th"); th.textContent = t(h); head.appendChild(th);
    }
    const body = table.createTBody();
    q.lines.forEach((l, i) => {
      const tr = body.insertRow(), shown = d.quote_lines[i] || {};
      cell(tr, l.item); cell(tr, l.kind); cell(tr, l.qty).className = "num";
      cell(tr, shown.unit_price).className = "num";
      cell(tr, shown.amount).className = "num"; cell(tr, t(l.payer));
    });
    box.appendChild(table);
    box.appendChild(kv([
      ["Customer total", d.customer_total],
      ["Covered by warranty", d.covered_total],
      ...(q.deposit_total ? [["Deposit", d.deposit_total]] : []),
      ...(q.discount ? [["Discount", d.discount +
        (q.discount.approved_by ? " (" + q.discount.approved_by + ")" : "")]] : []),
      ["Revision", q.revision],
      ["Accepted", t(s.accepted_revision === q.revision ? "yes" : "no")],
    ]));
  } else box.appendChild(kv([["Quote", t("no quote")]]));

  box.appendChild(heading(t("Payment")));
  const stillDue = document.createElement("span");
  stillDue.textContent = d.amount_due == null ? "—" : d.amount_due;
  if (d.amount_due_fen) stillDue.className = "flagged";
  box.appendChild(kv(p ? [
    ["Collected", d.collected], ["Method", t(p.method)],
    ["Receipt", p.receipt && [p.receipt.kind, p.receipt.number || p.receipt.by].filter(Boolean).join(" ")],
    ["Paid in total", d.paid_total], ["Still due", stillDue],
  ] : [["Payment", t("no payment")], ["Still due", stillDue]]));

  box.appendChild(heading(t("Ratings and comment")));
  const r = so && so.ratings;
  box.appendChild(kv(r ? [
    ["Quality", r.quality + " / 5"], ["Attitude", r.attitude + " / 5"], ["Comment", so.comment],
    ["Satisfied", v.satisfied == null ? "—" : t(v.satisfied ? "yes" : "no")],
  ] : [["Ratings and comment", t("no ratings")]]));

  box.appendChild(heading(t("Sign-off")));
  const result = document.createElement("span");
  const bad = v.signoff === "broken" || v.signoff === "declined";
  result.textContent = (bad ? "⚠ " : "") + t(v.signoff);
  if (bad) result.className = "flagged";
  const digest = so ? so.evidence.report_digest : s.declined ? s.declined.report_digest : null;
  const short = document.createElement("code");
  if (digest) { short.textContent = digest.slice(0, 8); short.title = digest; }
  box.appendChild(kv([
    ["Result", result], ["Problem", v.signoff_problem],
    ["Report digest", digest ? short : ""],
    ["Report version", so ? so.report_version : s.declined ? s.declined.report_version : ""],
    ...(so ? [["Signature", await signatureImage(v.visit_id)],
      ["Evidence chain", t(v.chain_ok ? "intact" : "broken chain")],
      ["Signature strokes", so.stroke_count + " (" + t(so.strokes_match ? "match" : "do not match") + ")"]] : []),
    ...(s.declined ? [["Declined at", time(s.declined.at)], ["Reason", s.declined.reason]] : []),
  ]));

  if (v.conflict) {
    box.appendChild(heading(t("Conflict")));
    const state = document.createElement("span");
    state.textContent = v.conflict_open ? t("waiting for a decision") : v.resolution || "";
    if (v.conflict_open) state.className = "flagged";
    box.appendChild(kv([
      ["Conflict", t(v.conflict) + " (v" + v.conflict_version + ")"], ["Decision", state],
      ["Decided by", v.resolved_by ? v.resolved_by + ", " + time(v.resolved_at) : ""],
    ]));
  }

  // Every fact the phone recorded, named as the technician's screen named
  // the action (the core's command table, through the server).
  box.appendChild(heading(t("History")));
  const list = document.createElement("ol");
  list.id = "visit-history";
  for (const h of history || []) {
    const li = document.createElement("li");
    li.textContent = time(h.at) + " " + (lang === "zh" ? h.label.zh : h.label.en);
    list.appendChild(li);
  }
  box.appendChild(list);
  if (v.closed_at) await reportSection(box, v);
  box.hidden = false;
}

function show(tab) {
  current = tab;
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
  document.querySelectorAll("[data-view]").forEach((s) => { s.hidden = s.dataset.view !== tab; });
  loaders[tab]().catch((e) => flash(e.message, true));
}

async function start() {
  try {
    const me = await api("GET", "/api/me");
    $("#who").dataset.username = me.username; $("#who").dataset.role = me.role;
    businessZone = me.business_time_zone;
    $("#who").textContent = me.username + " (" + t(me.role) + ")";
  } catch (e) { return; }
  $("#login-view").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  technicians = await api("GET", "/api/technicians").catch(() => []);
  show("board");
}

// Keeps the board current while it is shown (one timer, however often one logs in).
setInterval(() => {
  if (token && !$("#app").hidden && !$("[data-view=board]").hidden) loaders.board().catch(() => {});
}, 15000);

function logout() {
  if (token) fetch("/api/logout", { method: "POST", headers: { authorization: "Bearer " + token } }).catch(() => {});
  token = null; sessionStorage.removeItem("doorstep.token");
  $("#login-view").hidden = false; $("#app").hidden = true; $("#logout").hidden = true; $("#who").textContent = "";
  delete $("#who").dataset.username;
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const r = await api("POST", "/api/login", { username: f.get("username"), password: f.get("password") });
    token = r.token; sessionStorage.setItem("doorstep.token", token);
    flash(""); start();
  } catch (e) { flash(e.code === "unauthorized" ? t("wrong username or password") : e.message, true); }
});

$("#intake-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const iso = (v) => v ? new Date(v).toISOString() : null;
  const body = {
    classification: f.get("classification"),
    caller: { name: f.get("name") || null, phone: f.get("phone") || null, address: f.get("address") || null },
    content: f.get("content"),
    trade: f.get("trade") || undefined,
    product: { model: f.get("model") || null },
    answer: f.get("answer") || undefined,
  };
  if (f.get("start") && f.get("end")) body.requested_window = { start: iso(f.get("start")), end: iso(f.get("end")) };
  try {
    const r = await api("POST", "/api/intakes", body);
    flash(r.assignment ? t("recorded; assignment {id} created", { id: r.assignment.id }) : t("recorded"));
    ev.target.reset();
  } catch (e) { flash(e.message, true); }
});

for (const k of TRADES) { const o = document.createElement("option"); o.value = o.textContent = k; $("#trade-select").appendChild(o); }
translatePage();
document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
document.querySelectorAll("button.reload").forEach((b) => b.addEventListener("click", () => show(b.closest("[data-view]").dataset.view)));
$("#refresh-board").addEventListener("click", () => show("board"));
$("#status-filter").addEventListener("change", () => show("board"));
$("#kpi-by").addEventListener("change", () => show("kpis"));
$("#visit-filter").addEventListener("change", () => { openVisit = null; $("#visit-detail").hidden = true; show("visits"); });
$("#logout").addEventListener("click", () => { logout(); flash(""); });
$("#lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("doorstep.lang", lang);
  translatePage(); flash("");
  const who = $("#who").dataset;
  if (who.username) $("#who").textContent = who.username + " (" + t(who.role) + ")";
  if (!$("#app").hidden) show(current);
});
$("#sample").addEventListener("click", async () => {
  try {
    const r = await api("POST", "/api/callbacks/monthly-sample", { month: new Date().toISOString().slice(0, 7) });
    flash(t("sample drawn: {sampled} of {served} served customers", { sampled: r.sampled, served: r.served_customers })); loaders.callbacks();
  } catch (e) { flash(e.message, true); }
});
// What the dispatch screens' ES modules (board.js, picker.js, map.js,
// live.js) use of this page: they add their loaders and the picker here.
window.doorstepConsole = {
  api, t, flash, loaders, lang: () => lang, zone: () => businessZone || "Asia/Shanghai",
  signedIn: () => Boolean(token) && !$("#app").hidden, current: () => current,
  token: () => token, pick: null, onLanguage: [],
};
$("#lang").addEventListener("click", () => window.doorstepConsole.onLanguage.forEach((f) => f()));
if (token) start();
