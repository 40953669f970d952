#!/usr/bin/env python3
"""A photo's facts over a year of pushes (docs/PERFORMANCE.md, "A photo's
facts found by its digest"): builds a SQLite file with the server's
migrations and a year of one center's facts (40 phones, 200 visits a day of
40 facts, 4 of them photos), then times the two reads a photo costs, as the
server sent them before migration 0031 (a `LIKE` over the facts' bodies)
and as it sends them now (`photo_events`), warm cache, medians.

    python3 bench/photo-lookups.py [--days 365] [--keep FILE]
"""
import argparse, glob, json, os, shutil, sqlite3, statistics, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--days", type=int, default=365)
ap.add_argument("--keep", help="build the file here and keep it")
args = ap.parse_args()
db = args.keep or os.path.join(tempfile.mkdtemp(prefix="doorstep-photos-"), "year.db")
if os.path.exists(db):
    os.remove(db)
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
for f in sorted(glob.glob(os.path.join(here, "../server/migrations/sqlite/*.sql"))):
    c.executescript(open(f).read())
PHONES, VISITS_A_DAY, FACTS, PHOTOS = 40, 200, 40, 4
c.executemany("INSERT INTO technicians (id, name, trades, active, created_at) VALUES (?, ?, '[]', 1, 0)",
              [(f"T-{k}", f"T{k}") for k in range(PHONES)])
c.executemany("INSERT INTO devices (id, technician_id, token_hash, enrolled_by, enrolled_at) VALUES (?, ?, ?, 'li.na', 0)",
              [(f"D-{k}", f"T-{k}", f"h{k}") for k in range(PHONES)])
seqs = [0] * PHONES
digest_of = lambda v, p: f"{v:032x}{p:032x}"
for day in range(args.days):
    events, photos = [], []
    for v in range(VISITS_A_DAY):
        visit = day * VISITS_A_DAY + v
        k = visit % PHONES
        for f in range(FACTS):
            seqs[k] += 1
            eid = f"E-{visit}-{f}"
            if f < PHOTOS:
                kind = "photo_taken"
                body = {"type": kind, "moment": "before", "digest": digest_of(visit, f), "size_bytes": 200_000 + f,
                        "width": 1600, "height": 1200}
                photos.append((eid, digest_of(visit, f), f"D-{k}", f"T-{k}", 200_000 + f))
            else:
                kind = "note_added"
                body = {"type": kind, "text": "压缩机启动电容更换，试机正常" * 3}
            body.update({"id": eid, "visit_id": f"V-{visit}", "assignment_id": f"A-{visit}", "device_id": f"D-{k}",
                         "hlc": {"millis": 0, "counter": f}, "recorded_at": "2026-01-01T00:00:00Z",
                         "assignment_version": 1})
            events.append((eid, f"D-{k}", seqs[k], f"V-{visit}", f"A-{visit}", f"T-{k}", kind, 0, f, 0, 0,
                           json.dumps(body, ensure_ascii=False, separators=(",", ":"))))
    c.executemany("INSERT INTO events (event_id, device_id, seq, visit_id, assignment_id, technician_id, kind,"
                  " hlc_millis, hlc_counter, recorded_at, received_at, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", events)
    c.executemany("INSERT INTO photo_events VALUES (?, ?, ?, ?, ?)", photos)
c.commit()
total = c.execute("SELECT COUNT(*) FROM events").fetchone()[0]
print(f"{total} facts of {PHONES} phones over {args.days} days, {os.path.getsize(db) / 1e6:.0f} MB")

newest = (args.days * VISITS_A_DAY - 1)
digest, device, tech = digest_of(newest, 0), f"D-{newest % PHONES}", f"T-{newest % PHONES}"
like = f'%"digest":"{digest}"%'
def timed(label, sql, params, n=7):
    ts = []
    for _ in range(n):
        s = time.perf_counter()
        row = c.execute(sql, params).fetchone()
        ts.append((time.perf_counter() - s) * 1000)
    print(f"| {label} | {statistics.median(ts):.3f} ms | {'found' if row else 'none'} |")
print("| read (the newest photo) | median | |\n|---|---:|---|")
timed("before: each upload request, its device's `photo_taken` facts searched with LIKE",
      "SELECT body FROM events WHERE device_id = ? AND kind = 'photo_taken' AND body LIKE ? LIMIT 1", (device, like))
timed("before: a phone's fetch, every fact searched with LIKE",
      "SELECT event_id FROM events WHERE technician_id = ? AND kind = 'photo_taken' AND body LIKE ? LIMIT 1", (tech, like))
timed("after: each upload request, `photo_events` by digest",
      "SELECT size_bytes FROM photo_events WHERE digest = ? AND device_id = ? LIMIT 1", (digest, device))
timed("after: a phone's fetch, `photo_events` by digest",
      "SELECT event_id FROM photo_events WHERE digest = ? AND technician_id = ? LIMIT 1", (digest, tech))
if not args.keep:
    c.close()
    shutil.rmtree(os.path.dirname(db))
