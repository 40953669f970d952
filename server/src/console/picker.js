// The technician picker: a dialog listing the qualified technicians the
// server ranks for an assignment (GET /api/assignments/{id}/candidates:
// free around the window, the day's workload, distance), by name, with a
// start time when the work is on a day. Keyboard-usable (radio buttons, a
// time field, Save / Cancel); it replaces the console's old id prompt.

const C = window.doorstepConsole;

let dialog;

function build() {
  dialog = document.createElement("dialog");
  dialog.id = "picker";
  dialog.setAttribute("aria-labelledby", "picker-title");
  const form = document.createElement("form");
  form.method = "dialog";
  const title = document.createElement("h2"); title.id = "picker-title";
  const list = document.createElement("fieldset"); list.id = "picker-list";
  const legend = document.createElement("legend"); legend.id = "picker-legend";
  list.appendChild(legend);
  const startLabel = document.createElement("label"); startLabel.id = "picker-start-label";
  const startText = document.createElement("span");
  const start = document.createElement("input"); start.type = "time"; start.id = "picker-start";
  startLabel.append(startText, start);
  const buttons = document.createElement("div"); buttons.className = "picker-buttons";
  const save = document.createElement("button"); save.value = "save"; save.id = "picker-save";
  const cancel = document.createElement("button"); cancel.value = "cancel"; cancel.id = "picker-cancel"; cancel.type = "button";
  cancel.addEventListener("click", () => dialog.close("cancel"));
  buttons.append(save, cancel);
  form.append(title, list, startLabel, buttons);
  dialog.appendChild(form);
  document.body.appendChild(dialog);
}

const hhmm = (m) => String(Math.floor(m / 60)).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");

/** How a candidate fits, in words: free or overlapping, the day's load, the distance. */
export function fitText(c) {
  const parts = [c.overlapping.length
    ? C.t("busy: {n} overlapping", { n: c.overlapping.length })
    : C.t("free at that time")];
  parts.push(C.t("{n} jobs that day", { n: c.workload }));
  if (c.free_before_minutes != null) parts.push(C.t("{n} min free before", { n: c.free_before_minutes }));
  if (c.free_after_minutes != null) parts.push(C.t("{n} min free after", { n: c.free_after_minutes }));
  parts.push(c.distance_m == null ? C.t("position unknown")
    : c.distance_m >= 1000 ? C.t("{km} km away", { km: (c.distance_m / 1000).toFixed(1) })
      : C.t("{m} m away", { m: c.distance_m }));
  return parts.join(C.t(", "));
}

/**
 * Asks for a technician (and a start, when `options.startMinutes` is given
 * or the work is on the board's day) for assignment `a`; resolves to
 * { technician: { id, name }, startMinutes } or null when cancelled.
 */
export async function pickFor(a, options = {}) {
  if (!dialog) build();
  const ranked = await C.api("GET", `/api/assignments/${encodeURIComponent(a.id)}/candidates`);
  const customer = (a.customer && (a.customer.name || a.customer.address)) || a.id;
  dialog.querySelector("#picker-title").textContent = C.t("Technician for {customer}", { customer });
  dialog.querySelector("#picker-legend").textContent = C.t("Qualified technicians, best first");
  dialog.querySelector("#picker-start-label span").textContent = C.t("Start");
  dialog.querySelector("#picker-save").textContent = C.t("Save");
  dialog.querySelector("#picker-cancel").textContent = C.t("Cancel");
  const list = dialog.querySelector("#picker-list");
  for (const old of list.querySelectorAll("label, p")) old.remove();
  if (!ranked.candidates.length) {
    const none = document.createElement("p");
    none.textContent = C.t("none qualified");
    list.appendChild(none);
  }
  ranked.candidates.forEach((c, i) => {
    const label = document.createElement("label");
    label.className = "candidate";
    const radio = document.createElement("input");
    radio.type = "radio"; radio.name = "technician"; radio.value = c.technician_id;
    radio.checked = a.technician ? c.technician_id === a.technician : i === 0;
    const name = document.createElement("strong"); name.textContent = c.name;
    const fit = document.createElement("span"); fit.textContent = fitText(c);
    label.append(radio, name, fit);
    list.appendChild(label);
  });
  if (!list.querySelector("input:checked") && list.querySelector("input")) list.querySelector("input").checked = true;
  const start = dialog.querySelector("#picker-start");
  const startLabel = dialog.querySelector("#picker-start-label");
  startLabel.hidden = options.startMinutes == null;
  start.value = options.startMinutes == null ? "" : hhmm(options.startMinutes);
  dialog.returnValue = "";
  dialog.showModal();
  const chosen = dialog.querySelector("input:checked") || dialog.querySelector("#picker-cancel");
  chosen.focus();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (dialog.returnValue !== "save") return null;
  const picked = dialog.querySelector("input[name=technician]:checked");
  if (!picked) return null;
  const c = ranked.candidates.find((x) => x.technician_id === picked.value);
  const [h, m] = (start.value || "").split(":").map(Number);
  return {
    technician: { id: c.technician_id, name: c.name },
    startMinutes: startLabel.hidden || !start.value ? null : h * 60 + m,
  };
}

C.pick = pickFor;
