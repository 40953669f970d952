// Days in the business time zone (the server's `--business-time-zone`, sent
// by /api/me): the board's day runs from that zone's midnight to the next,
// whatever the browser's own zone.

/** The zone's offset from UTC at `ms`, in ms (east positive). */
function offsetAt(zone, ms) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms));
  const v = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(+v.year, +v.month - 1, +v.day, +v.hour, +v.minute, +v.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant (ms) of a wall-clock time in `zone`: date "YYYY-MM-DD", minutes after midnight. */
export function instantOf(zone, date, minutes = 0) {
  const [y, m, d] = date.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d) + minutes * 60000;
  let guess = wall - offsetAt(zone, wall);
  guess = wall - offsetAt(zone, guess); // once more across an offset change
  return guess;
}

/** [start, end) of a business day, in ms. */
export function dayBounds(zone, date) {
  const [y, m, d] = date.split("-").map(Number);
  const next = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  return [instantOf(zone, date), instantOf(zone, next)];
}

/** The business date ("YYYY-MM-DD") of an instant. */
export function dateOf(zone, ms) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(ms));
}

/** "HH:MM" of an instant in the zone. */
export function clock(zone, ms) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .format(new Date(ms));
}

/** Minutes after the zone's midnight of an instant on `date`. */
export function minutesInto(zone, date, ms) {
  return Math.round((ms - instantOf(zone, date)) / 60000);
}

/** "YYYY-MM-DD HH:MM" of an instant in the zone: what the window inputs show. */
export function wallTime(zone, ms) {
  return dateOf(zone, ms) + " " + clock(zone, ms);
}

/**
 * The instant (ms) of a typed wall-clock time in the zone — "2026-12-03
 * 09:00" (a "T" or full-width colon accepted) — or null when it is no such
 * date and time. The browser's own zone plays no part.
 */
export function parseWallTime(zone, text) {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2})[:：](\d{2})$/.exec(String(text).trim());
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return null;
  const date = `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  const ms = instantOf(zone, date, h * 60 + mi);
  return dateOf(zone, ms) === date ? ms : null; // 2026-02-30 is no date
}
