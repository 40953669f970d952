"""What the bench scripts over a year of the server's data share: a SQLite
file made with the server's own migrations (in a scratch directory, or
where `--keep` says), and a timer that prints one Markdown table row of a
query's median time."""
import argparse, glob, os, shutil, sqlite3, statistics, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))


def arguments(doc, **options):
    """The script's arguments: `options` (name → (type, default)) and `--keep FILE`."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, (kind, default) in options.items():
        ap.add_argument(f"--{name}", type=kind, default=default)
    ap.add_argument("--keep", help="build the file here and keep it")
    return ap.parse_args()


class ServerFile:
    """A SQLite file at the server's newest schema; removed on `close` unless kept."""

    def __init__(self, keep, prefix):
        self.path = keep or os.path.join(tempfile.mkdtemp(prefix=prefix), "year.db")
        self.kept = bool(keep)
        if os.path.exists(self.path):
            os.remove(self.path)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        for f in sorted(glob.glob(os.path.join(HERE, "../server/migrations/sqlite/*.sql"))):
            self.db.executescript(open(f).read())

    def megabytes(self):
        return os.path.getsize(self.path) / 1e6

    def timed(self, label, sql, params=(), runs=7, decimals=2):
        """Prints `| label | median ms | rows |` over `runs` runs of `sql`."""
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            rows = self.db.execute(sql, params).fetchall()
            times.append((time.perf_counter() - start) * 1000)
        print(f"| {label} | {statistics.median(times):.{decimals}f} ms | {len(rows)} |")

    def close(self):
        self.db.close()
        if not self.kept:
            shutil.rmtree(os.path.dirname(self.path))
