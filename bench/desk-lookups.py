#!/usr/bin/env python3
"""The desk's look-ups over a year of orders (docs/PERFORMANCE.md, "The
desk's look-ups"): builds a SQLite file with the server's migrations and
73 000 orders (200 a day) with their look-up rows, then times each read the
desk makes, as the server writes it, against the read it replaced. Python's
sqlite3 runs the same SQL the server sends; warm cache, medians.

    python3 bench/desk-lookups.py [--orders 73000] [--keep FILE]

A search is timed both ways: walking the look-up rows newest first (as
migrations 0030-0036 had it) and from the orders holding the rarest piece
of what was typed (migration 0037, `store::order_search_pieces`: every
piece counted up to 100, then the rarest's orders newest first).
"""
import json, random, statistics, time
from server_sqlite_file import ServerFile, arguments


def windows(text, n):
    return [text[i:i + n] for i in range(len(text) - n + 1)]


def pieces_of(search_text, phone):
    """`order_search_pieces::pieces_of`: 2- and 3-character pieces of each
    field, 4-digit pieces of the phone marked with '#'."""
    out = set()
    for field in search_text.split("\x1f"):
        out.update(windows(field, 2))
        out.update(windows(field, 3))
    if phone:
        out.update("#" + w for w in windows(phone, 4))
    return out

args = arguments(__doc__, orders=(int, 73000))
sf = ServerFile(args.keep, "doorstep-desk-")
c = sf.db
random.seed(7)
t0 = 1733011200000
surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
rows, look = [], []
for i in range(args.orders):
    rec = t0 + i * 432000  # 200 a day
    aid = f"A-{time.strftime('%Y%m%d', time.gmtime(rec / 1000))}-{i % 200 + 1:04d}"
    phone = f"13{random.randint(0, 9)}{random.randint(10000000, 99999999)}"
    name = random.choice(surnames) + random.choice(surnames) + "梅"
    addr = f"上海市徐汇区长乐路 {random.randint(1, 999)} 弄 {random.randint(1, 30)} 号 {random.randint(101, 2505)} 室"
    ws = rec + 86400000 * random.randint(0, 14)
    we = ws + 7200000
    body = json.dumps({
        "id": aid, "version": 3, "trade": "appliance_repair",
        "customer": {"name": name, "phone": phone, "address": addr, "location": {"lat": 31.2, "lon": 121.4}},
        "product": {"brand": "海尔", "model": "BCD-216", "serial": "SN%08d" % i},
        "fault_description": "冰箱不制冷，冷藏室温度高，压缩机不停机" * 3,
        "requested_window": {"start": iso(ws), "end": iso(we)}, "received_at": iso(rec),
        "technician": "T-%d" % (i % 40), "notes": "请提前电话联系" * 5}, ensure_ascii=False)
    rows.append((aid, rec, body, "T-%d" % (i % 40)))
    look.append((aid, rec, phone, f"{aid.lower()}\x1f{name}\x1f{addr}", ws, we))
c.executemany("INSERT INTO technicians (id, name, trades, active, created_at) VALUES (?, ?, '[]', 1, 0)",
              [("T-%d" % k, "T%d" % k) for k in range(40)])
c.executemany("INSERT INTO assignments (id, version, trade, status, priority, classification, received_at,"
              " window_confirmed, body, updated_at, technician_id)"
              " VALUES (?, 3, 'appliance_repair', 'done', 'normal', 'general', ?, 1, ?, 0, ?)", rows)
c.executemany("INSERT INTO assignment_lookup VALUES (?, ?, ?, ?, ?, ?)", look)
c.executemany("INSERT INTO assignment_search_grams VALUES (?, ?, ?)",
              ((p, rec, aid) for aid, rec, phone, text, _, _ in look for p in pieces_of(text, phone)))
c.commit()
pieces_rows = c.execute("SELECT COUNT(*) FROM assignment_search_grams").fetchone()[0]
print(f"{pieces_rows} search pieces ({pieces_rows / args.orders:.0f} an order)")
print(f"{args.orders} orders, {sf.megabytes():.0f} MB")

cols = "a.body, a.status, a.priority, a.classification, a.window_confirmed, a.cancel_reason, a.updated_at"
timed = lambda label, sql, params=(): sf.timed(label, sql, params, runs=15)

old_phone = c.execute("SELECT customer_phone_digits FROM assignment_lookup"
                      f" ORDER BY received_at DESC LIMIT 1 OFFSET {min(6000, args.orders - 1)}").fetchone()[0]
newest = lambda n: ("SELECT body, status, priority, classification, window_confirmed, cancel_reason, updated_at"
                    f" FROM assignments NOT INDEXED ORDER BY received_at DESC, id DESC LIMIT {n}")
search = (f"SELECT {cols} FROM assignment_lookup l JOIN assignments a ON a.id = l.assignment_id"
          " WHERE (l.search_text LIKE ? ESCAPE '\\' OR l.customer_phone_digits LIKE ?)"
          " ORDER BY l.received_at DESC, l.assignment_id DESC LIMIT 50")
search_text = search.replace(" OR l.customer_phone_digits LIKE ?", "")
last = c.execute("SELECT max(window_start) FROM assignment_lookup").fetchone()[0] - 86400000 * 10


def by_pieces(text, digits):
    """The server's search (`assignments::search`): for the text and, with
    four digits or more, the phone, count each piece's orders up to 100,
    read the rarest's orders newest first, merge."""
    found = {}
    parts = [("l.search_text LIKE ? ESCAPE '\\'", f"%{text}%",
              sorted(set(windows(text, 3))) if len(text) > 2 else [text])]
    if len(digits) >= 4:
        parts.append(("l.customer_phone_digits LIKE ?", f"%{digits}%",
                      sorted({"#" + w for w in windows(digits, 4)})))
    for condition, pattern, pieces in parts:
        counts = []
        for p in pieces:
            n = c.execute("SELECT COUNT(*) FROM (SELECT 1 FROM assignment_search_grams WHERE gram = ?"
                          " LIMIT 100)", (p,)).fetchone()[0]
            counts.append((n, p))
            if n == 0:
                break
        n, rarest = min(counts)
        if n == 0:
            continue
        for r in c.execute(f"SELECT {cols}, l.received_at, l.assignment_id FROM assignment_search_grams g"
                           " CROSS JOIN assignment_lookup l CROSS JOIN assignments a"
                           " WHERE g.gram = ? AND l.assignment_id = g.assignment_id AND a.id = g.assignment_id"
                           f" AND {condition} ORDER BY g.received_at DESC, g.assignment_id DESC LIMIT 50",
                           (rarest, pattern)):
            found[(r[-2], r[-1])] = r
    return sorted(found, reverse=True)[:50]


def timed_pieces(label, text, digits=""):
    times = []
    for _ in range(15):
        start = time.perf_counter()
        rows = by_pieces(text, digits)
        times.append((time.perf_counter() - start) * 1000)
    print(f"| {label} | {statistics.median(times):.2f} ms | {len(rows)} |")


print("| read | median | rows |\n|---|---:|---:|")
timed("before: the newest 5 000 orders, each search and history (then parsed and filtered)", newest(5000))
timed("before: the newest 2 000 orders, the day board's and the picker's day", newest(2000))
timed("before: the console's newest 500, sorted from every order", newest(500))
timed("after: the console's newest 500, through `assignments_newest`",
      newest(500).replace(" NOT INDEXED", ""))
timed("0030: search walking the look-up rows, the full phone of an order 6 000 back", search,
      (f"%{old_phone}%",) * 2)
timed("0030: search walking the look-up rows, a name many orders have (王李)", search_text, ("%王李%",))
timed("0030: search walking the look-up rows, finding nothing", search, ("%99999999999%",) * 2)
timed_pieces("0037: search by pieces, the full phone of an order 6 000 back", old_phone, old_phone)
timed_pieces("0037: search by pieces, the last four digits of that phone", old_phone[-4:], old_phone[-4:])
timed_pieces("0037: search by pieces, a name many orders have (王李)", "王李")
timed_pieces("0037: search by pieces, a street and number (长乐路 12 弄)", "长乐路 12 弄")
timed_pieces("0037: search by pieces, finding nothing", "99999999999", "99999999999")
old_id = c.execute("SELECT assignment_id FROM assignment_lookup"
                   f" ORDER BY received_at DESC LIMIT 1 OFFSET {min(6000, args.orders - 1)}").fetchone()[0]
timed_pieces("0037: search by pieces, the id of an order 6 000 back", old_id.lower(),
             "".join(ch for ch in old_id if ch.isdigit()))
timed("after: a caller's history by phone", f"SELECT {cols} FROM assignment_lookup l JOIN assignments a"
      " ON a.id = l.assignment_id WHERE l.customer_phone_digits = ?"
      " ORDER BY l.received_at DESC, l.assignment_id DESC LIMIT 500", (old_phone,))
timed("after: a day's orders, the day board's and the picker's", f"SELECT {cols} FROM assignment_lookup l"
      " CROSS JOIN assignments a WHERE a.id = l.assignment_id AND l.window_end > ? AND l.window_start < ?"
      " ORDER BY l.window_start, l.assignment_id", (last, last + 86400000))
sf.close()
