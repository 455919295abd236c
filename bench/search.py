"""Search benchmark: /search's query over 1,000,000 messages on SQLite and PostgreSQL.

    python bench/search.py [--messages 1000000] [--repeat 15] [--db sqlite|postgres|both]

Fills a fresh database (through the migrations, so the same trigram index as
production: FTS5 on SQLite, pg_trgm GIN on PostgreSQL) with mixed Thai and
English shop chat of realistic lengths, then times db.search.find_messages
for short Thai queries and English words. The baseline, measured in the same
run, is the same query without the index (a newest-first scan). Target:
p95 under 50 ms on both databases. Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from db.engine import make_engine, make_sessionmaker  # noqa: E402
from db.search import (  # noqa: E402
    POSTGRES_DDL,
    POSTGRES_DROP,
    find_messages,
    search_terms,
)

TARGET_P95_MS = 50.0
CONVERSATIONS = 20_000
LIMIT = 100  # what /search reads
THAI = ["สวัสดีค่ะ", "สนใจค่ะ", "ชิ้นนี้", "ยังมีของไหมคะ", "ราคาเท่าไหร่", "ส่งฟรีไหม",
        "ขอบคุณค่ะ", "สีชมพู", "สีดำ", "ไซส์ M", "ไซส์ L", "โอนแล้วนะคะ", "ที่อยู่จัดส่ง",
        "กรุงเทพฯ", "เชียงใหม่", "ขอเลขพัสดุด้วยค่ะ", "ได้รับของแล้ว", "รอของอยู่นะคะ",
        "เก็บเงินปลายทางได้ไหม", "ผ้าฝ้าย", "ลดราคา", "โปรโมชั่น", "ครับ", "ค่ะ", "นะคะ",
        "😊", "🙏", "CF A01", "F B07 2"]
ENGLISH = ["hello", "is", "this", "still", "available", "price", "please", "ship", "to",
           "Chiang Mai", "thanks", "size", "pink", "black", "cotton", "how", "much", "paid",
           "tracking", "number", "A01", "B07", "discount", "tomorrow"]
QUERIES = {
    "Thai, 2–4 characters": ["สี", "ส่ง", "โอน", "ไซส์", "ราคา", "ชมพู", "พัสดุ", "ฝ้าย"],
    "English words": ["price", "pink", "available", "tracking", "cotton"],
    # What admins look up most: a product few asked about, a phone, a parcel.
    "rare (few matches)": ["หวาย", "ผ้าไหม", "0815", "TH77"],
}
RARE = 2000  # one message in RARE names a rare product, a phone or a parcel


def message_text(rng: random.Random) -> str:
    if rng.randrange(RARE) == 0:
        return rng.choice([
            "สนใจตะกร้าหวายใบใหญ่ค่ะ", "กระเป๋าผ้าไหมยังมีไหมคะ",
            f"เบอร์โทร 08{rng.randrange(10**8):08d} ค่ะ",
            f"เลขพัสดุ TH{rng.randrange(10**10):010d} นะคะ"])
    thai = rng.random() < 0.7
    words = THAI if thai else ENGLISH
    # Chat is mostly short: a few words, sometimes a paragraph.
    target = int(min(400, rng.lognormvariate(3.4, 0.8)))
    out: list[str] = []
    while sum(map(len, out)) < target:
        out.append(rng.choice(words))
    return ("" if thai and rng.random() < 0.5 else " ").join(out)


def fill(url: str, count: int, seed: int = 7) -> float:
    """Shop, customers, conversations and `count` messages; seconds it took."""
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    now = datetime(2026, 11, 1)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO shops (id, name, created_at) VALUES (1, 'Bench', :t)"),
                     {"t": now})
        conn.execute(text("INSERT INTO customers (id, shop_id, profile_fetched, created_at) "
                          "VALUES (:id, 1, false, :t)"),
                     [{"id": i, "t": now} for i in range(1, CONVERSATIONS + 1)])
        conn.execute(text(
            "INSERT INTO conversations (id, shop_id, channel, customer_id, thread_key, "
            "recipient_id, status, unread_count, last_activity_at, blocked, created_at) "
            "VALUES (:id, 1, 'line', :id, :key, :key, 'inbox', 0, :t, false, :t)"),
            [{"id": i, "key": f"U{i:032x}", "t": now} for i in range(1, CONVERSATIONS + 1)])
        if postgres:
            # As a bulk import would: load, then build the trigram index once.
            conn.execute(text(POSTGRES_DROP[0]))
    batch = 20_000
    for start in range(0, count, batch):
        rows = [{"cid": rng.randint(1, CONVERSATIONS), "text": message_text(rng),
                 "dir": "in" if rng.random() < 0.6 else "out",
                 "t": now + timedelta(seconds=start + i)}
                for i in range(min(batch, count - start))]
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO messages (shop_id, conversation_id, channel, direction, kind, text, "
                "attachments, data, status, created_at) VALUES (1, :cid, 'line', :dir, 'text', "
                ":text, '[]', '{}', 'received', :t)"), rows)
    with engine.begin() as conn:
        if postgres:
            conn.execute(text(POSTGRES_DDL[-1]))
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def scan(session: Any, words: list[str]) -> list[int]:
    """The baseline: newest first, every word by substring, no index."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    where = " AND ".join(
        (f"instr(lower(text), :w{i}) > 0" if sqlite else f"strpos(lower(text), :w{i}) > 0")
        for i in range(len(words)))
    return list(session.execute(text(
        f"SELECT id FROM messages WHERE shop_id = 1 AND {where} ORDER BY id DESC LIMIT {LIMIT}"),
        {f"w{i}": w for i, w in enumerate(words)}).scalars())


def measure(label: str, url: str, count: int, repeat: int) -> list[dict[str, Any]]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    fill_seconds = fill(url, count)
    print(f"{label}: {count} messages stored in {fill_seconds:.0f} s", file=sys.stderr)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rows = []
    with sessions() as session:
        for kind, queries in QUERIES.items():
            for method, run in (("index", lambda w: find_messages(session, 1, w, LIMIT)),
                                ("baseline scan", lambda w: scan(session, w))):
                timings, hits = [], 0
                for query in queries:
                    words = search_terms(query)
                    run(words)  # warm the cache, as a running server's would be
                    for _ in range(repeat):
                        started = time.perf_counter()
                        found = run(words)
                        timings.append((time.perf_counter() - started) * 1000)
                    hits += len(found)
                timings.sort()
                rows.append({"database": label, "queries": kind, "method": method,
                             "p50_ms": statistics.median(timings),
                             "p95_ms": timings[int(len(timings) * 0.95) - 1],
                             "max_ms": timings[-1], "hits": hits})
    engine.dispose()
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (f"{'database':<12}{'queries':<24}{'method':<15}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'max ms':>9}{'hits':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['database']:<12}{r['queries']:<24}{r['method']:<15}{r['p50_ms']:>9.1f}"
              f"{r['p95_ms']:>9.1f}{r['max_ms']:>9.1f}{r['hits']:>7}")
    print()
    for database in dict.fromkeys(r["database"] for r in rows):
        worst = max(r["p95_ms"] for r in rows if r["database"] == database
                    and r["method"] == "index")
        verdict = "meets" if worst <= TARGET_P95_MS else "MISSES"
        print(f"{database}: worst p95 with the index {worst:.1f} ms ({verdict} the "
              f"{TARGET_P95_MS:.0f} ms target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows-to", help=argparse.SUPPRESS)  # used under with_postgres.sh
    args = parser.parse_args()
    if args.rows_to:
        Path(args.rows_to).write_text(json.dumps(measure(
            "PostgreSQL", os.environ["SHOPRELAY_TEST_DATABASE_URL"], args.messages,
            args.repeat)))
        return
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shoprelay-search-") as tmp:
        if args.db in ("sqlite", "both"):
            rows += measure("SQLite", f"sqlite:///{tmp}/search.db", args.messages, args.repeat)
        if args.db in ("postgres", "both"):
            out = Path(tmp) / "postgres.json"
            subprocess.run([str(ROOT / "tests" / "tools" / "with_postgres.sh"), sys.executable,
                            __file__, "--messages", str(args.messages), "--repeat",
                            str(args.repeat), "--rows-to", str(out)], check=True)
            rows += json.loads(out.read_text())
    print()
    print_table(rows)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"search-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
