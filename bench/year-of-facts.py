#!/usr/bin/env python3
"""The reads that look among a year of pushed facts (docs/PERFORMANCE.md,
"A photo's facts, the desk's queue and the last positions, found through
indexes"): builds a SQLite file with the server's migrations and a year of
one center's facts (40 phones, 200 visits a day of 40 facts: 4 photos, and
in one visit of fifty a request to the center, nine in ten of them handled),
then times the reads a photo costs, the desk queue's read of requests and
the technicians' last positions, as the server sent them before
migrations 0031-0033 and as it sends them now, warm cache, medians.

    python3 bench/year-of-facts.py [--days 365] [--keep FILE]
"""
import json, time
from server_sqlite_file import ServerFile, arguments

args = arguments(__doc__, days=(int, 365))
sf = ServerFile(args.keep, "doorstep-facts-")
c = sf.db
PHONES, VISITS_A_DAY, FACTS, PHOTOS = 40, 200, 40, 4
c.executemany("INSERT INTO technicians (id, name, trades, active, created_at) VALUES (?, ?, '[]', 1, 0)",
              [(f"T-{k}", f"T{k}") for k in range(PHONES)])
c.executemany("INSERT INTO devices (id, technician_id, token_hash, enrolled_by, enrolled_at) VALUES (?, ?, ?, 'li.na', 0)",
              [(f"D-{k}", f"T-{k}", f"h{k}") for k in range(PHONES)])
seqs = [0] * PHONES
# The year ends now: day 0 is a year ago; a visit's facts a minute apart.
year_start = int(time.time() * 1000) - args.days * 86_400_000
digest_of = lambda v, p: f"{v:032x}{p:032x}"
for day in range(args.days):
    events, photos, handled = [], [], []
    for v in range(VISITS_A_DAY):
        visit = day * VISITS_A_DAY + v
        k = visit % PHONES
        for f in range(FACTS):
            seqs[k] += 1
            at = year_start + day * 86_400_000 + v * 400_000 + f * 60_000
            eid = f"E-{visit}-{f}"
            if f == PHOTOS and visit % 50 == 0:
                kind = "escalated_to_center"
                body = {"type": kind, "reason": "客户对报价有异议"}
                if visit % 500:
                    handled.append((eid, "li.na", 0))
            elif f < PHOTOS:
                kind = "photo_taken"
                body = {"type": kind, "moment": "before", "digest": digest_of(visit, f), "size_bytes": 200_000 + f,
                        "width": 1600, "height": 1200}
                photos.append((eid, digest_of(visit, f), f"D-{k}", f"T-{k}", 200_000 + f))
            else:
                kind = "note_added"
                body = {"type": kind, "text": "压缩机启动电容更换，试机正常" * 3}
            body.update({"id": eid, "visit_id": f"V-{visit}", "assignment_id": f"A-{visit}", "device_id": f"D-{k}",
                         "hlc": {"millis": at, "counter": 0}, "recorded_at": "2026-01-01T00:00:00Z",
                         "location": {"lat": 31.2 + k / 1000, "lon": 121.47, "accuracy_m": 12.0},
                         "assignment_version": 1})
            events.append((eid, f"D-{k}", seqs[k], f"V-{visit}", f"A-{visit}", f"T-{k}", kind, at, 0, at, at,
                           json.dumps(body, ensure_ascii=False, separators=(",", ":"))))
    c.executemany("INSERT INTO events (event_id, device_id, seq, visit_id, assignment_id, technician_id, kind,"
                  " hlc_millis, hlc_counter, recorded_at, received_at, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", events)
    c.executemany("INSERT INTO photo_events VALUES (?, ?, ?, ?, ?)", photos)
    c.executemany("INSERT INTO handled_requests (event_id, handled_by, handled_at) VALUES (?, ?, ?)", handled)
c.executemany("INSERT INTO technician_positions VALUES (?, ?, ?)",
              [(f"T-{k}", at, json.dumps({"lat": 31.2 + k / 1000, "lon": 121.47, "accuracy_m": 12.0}))
               for k in range(PHONES)])
c.commit()
total = c.execute("SELECT COUNT(*) FROM events").fetchone()[0]
print(f"{total} facts of {PHONES} phones over {args.days} days, {sf.megabytes():.0f} MB")

newest = (args.days * VISITS_A_DAY - 1)
digest, device, tech = digest_of(newest, 0), f"D-{newest % PHONES}", f"T-{newest % PHONES}"
like = f'%"digest":"{digest}"%'
timed = lambda label, sql, params: sf.timed(label, sql, params, decimals=3)
print("| read (the newest photo) | median | rows |\n|---|---:|---:|")
timed("before: each upload request, its device's `photo_taken` facts searched with LIKE",
      "SELECT body FROM events WHERE device_id = ? AND kind = 'photo_taken' AND body LIKE ? LIMIT 1", (device, like))
timed("before: a phone's fetch, every fact searched with LIKE",
      "SELECT event_id FROM events WHERE technician_id = ? AND kind = 'photo_taken' AND body LIKE ? LIMIT 1", (tech, like))
timed("after: each upload request, `photo_events` by digest",
      "SELECT size_bytes FROM photo_events WHERE digest = ? AND device_id = ? LIMIT 1", (digest, device))
timed("after: a phone's fetch, `photo_events` by digest",
      "SELECT event_id FROM photo_events WHERE digest = ? AND technician_id = ? LIMIT 1", (digest, tech))
kinds = ["center_verification_requested", "fields_waived", "quote_refused", "escalated_to_center",
         "payment_refused", "payment_deferred", "manager_visit_requested", "center_notified_absent",
         "acceptance_code_withheld", "incident_recorded"]
queue = ("SELECT e.event_id, e.kind, e.visit_id, e.assignment_id, e.technician_id, e.recorded_at, e.body"
         " FROM events e LEFT JOIN handled_requests h ON h.event_id = e.event_id"
         " WHERE e.kind IN ({}) AND h.event_id IS NULL ORDER BY e.recorded_at, e.event_id LIMIT 500")
print("\n| the desk queue's requests (each console, each live update) | median | rows |\n|---|---:|---:|")
timed("before: the kinds as parameters, no index (every fact read)", queue.format(", ".join("?" * len(kinds))), kinds)
timed("after: the kinds as the partial index `events_desk_requests` lists them",
          queue.format(", ".join(f"'{k}'" for k in kinds)), ())
since = int(time.time() * 1000) - 2 * 86_400_000
print("\n| technicians' last positions (the map; the picker, at each order assigned) | median | rows |\n|---|---:|---:|")
timed("before: the newest 20 000 facts of two days, no index on `recorded_at`",
      "SELECT technician_id, recorded_at, body FROM events WHERE recorded_at >= ?"
      " ORDER BY recorded_at DESC LIMIT 20000", (since,))
timed("after: `technician_positions`, a row a technician",
      "SELECT technician_id, recorded_at, fix FROM technician_positions WHERE recorded_at >= ?", (since,))
sf.close()
