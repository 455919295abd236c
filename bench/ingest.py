"""Webhook ingest benchmark: the real POST /webhooks/line against a bare Flask endpoint.

    python bench/ingest.py [--duration 5] [--rounds 3] [--db sqlite|postgres|both] [--quick]

All apps run under the same gunicorn settings (two workers) and are loaded
from loopback by wrk with validly signed, distinct, realistic LINE bodies. The
real path is verify + de-duplicate + store + enqueue, so its throughput should
stay within reach of the bare endpoint: the target is real ÷ bare ≥ 0.7. The
25-line prototype of that path (bench/proto_app.py) runs beside them as a
second yardstick: what the machine allows for the same work today.
Prints a table and writes bench/results/ingest-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/live_sale.py reads the database with db/
SECRET = "bench-line-secret"
DESTINATION = "U3f9a1c07d2b84e6a9c5d8e2f4b7a1c30"
TARGET_RATIO = 0.7
BARE, PROTOTYPE, REAL = "bare Flask", "25-line proto", "/webhooks/line"
CONNECTIONS = 16
WRK_THREADS = 2
# Two workers of gunicorn's default (sync) class for both apps: only the handler
# differs. (With gthread both get slower and the ratio drops: the request
# threads of one process share a GIL and take turns at the database.)
GUNICORN = ["-w", "2", "--backlog", "2048", "--log-level", "warning",
            "--access-logfile", "/dev/null"]

THAI = ["สวัสดีค่ะ", "สนใจ", "ชิ้นนี้", "ยังมีของไหมคะ", "ราคาเท่าไหร่", "ส่งฟรีไหม", "ขอบคุณค่ะ",
        "สีชมพู", "ไซส์ M", "โอนแล้วนะคะ", "ที่อยู่จัดส่ง", "กรุงเทพฯ", "😊", "🙏", "ครับ"]
ENGLISH = ["hello", "is", "this", "still", "available", "price", "please", "ship", "to",
           "Chiang Mai", "thanks", "size", "pink", "A01", "B07", "how", "much"]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        print("installing wrk with apt-get …", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is needed: sudo apt-get install wrk")
    return found


def _text(rng: random.Random) -> str:
    words = THAI if rng.random() < 0.7 else ENGLISH
    joiner = "" if words is THAI and rng.random() < 0.5 else " "
    out = ""
    target = rng.randint(10, 200)
    while len(out) < target:
        out += rng.choice(words) + joiner
    return out.strip()[:200]


def _event(rng: random.Random, serial: int, users: list[str]) -> dict[str, Any]:
    message: dict[str, Any]
    if rng.random() < 0.85:
        message = {"type": "text", "id": f"{500000000000000000 + serial}", "text": _text(rng),
                   "quoteToken": base64.urlsafe_b64encode(rng.randbytes(72)).decode()}
    else:
        message = {"type": "image", "id": f"{500000000000000000 + serial}",
                   "contentProvider": {"type": "line"},
                   "quoteToken": base64.urlsafe_b64encode(rng.randbytes(72)).decode()}
    return {
        "type": "message", "message": message, "mode": "active",
        "replyToken": rng.randbytes(16).hex(), "timestamp": 1749881100000 + serial,
        "source": {"type": "user", "userId": rng.choice(users)},
        "webhookEventId": f"01JX{serial:022d}", "deliveryContext": {"isRedelivery": False},
    }


def make_bodies(path: Path, count: int, first_serial: int, seed: int) -> int:
    """Signed bodies, one per line; returns how many events they hold."""
    rng = random.Random(seed)
    users = ["U" + rng.randbytes(16).hex() for _ in range(300)]
    serial, events = first_serial, 0
    with path.open("w", encoding="utf-8") as out:
        for _ in range(count):
            batch = []
            for _ in range(2 if rng.random() < 0.1 else 1):
                batch.append(_event(rng, serial, users))
                serial += 1
            events += len(batch)
            body = json.dumps({"destination": DESTINATION, "events": batch},
                              ensure_ascii=False, separators=(",", ":")).encode()
            signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
            out.write(signature.decode() + "\t" + body.decode() + "\n")
    return events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(app: str, env: dict[str, str], chdir: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"127.0.0.1:{port}",
         "--chdir", str(chdir), app], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app} did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def run_wrk(wrk: str, url: str, bodies: Path, seconds: float) -> dict[str, Any]:
    env = {**os.environ, "INGEST_BODIES": str(bodies), "INGEST_THREADS": str(WRK_THREADS)}
    done = subprocess.run(
        [wrk, "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{max(1, round(seconds))}s",
         "--timeout", "10s", "-s", str(ROOT / "bench" / "ingest.lua"), f"{url}/webhooks/line"],
        env=env, capture_output=True, text=True, check=True)
    match = re.search(r"^RESULT (\{.*\})$", done.stdout, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def stored_events(database_url: str) -> int:
    from live_sale import waiting_keys
    from sqlalchemy import func, select

    from db.engine import make_engine
    from db.models import OutboxItem

    engine = make_engine(database_url)
    # Accepted events not yet moved by a worker (none runs here), and those moved.
    count = len(waiting_keys(engine))
    with engine.connect() as conn:
        count += conn.execute(select(func.count()).select_from(OutboxItem)
                              .where(OutboxItem.kind == "route_event")).scalar_one()
    engine.dispose()
    return int(count)


def measure(label: str, database_url: str, seconds: float, rounds: int, work: Path,
            wrk: str) -> list[dict[str, Any]]:
    """Bare and real, alternating for `rounds` rounds; the median round of each.

    Both servers run side by side and are loaded in turn, so a slow moment of
    the machine falls on both rather than on one of them.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "LINE_", "META_", "FACEBOOK_", "INSTAGRAM_"))}
    env.update(DATABASE_URL=database_url, LINE_CHANNEL_SECRET=SECRET,
               LINE_CHANNEL_ACCESS_TOKEN="bench-token", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, cwd=work, check=True,
                   capture_output=True)
    per_run = int(seconds * 9000) + 2000
    results: dict[str, list[dict[str, Any]]] = {BARE: [], PROTOTYPE: [], REAL: []}
    before = stored_events(database_url)
    sys.path.insert(0, str(ROOT / "bench"))
    import proto_app

    proto_app.prepare(database_url)
    with gunicorn("bare_app:app", env, ROOT / "bench") as bare_url, \
            gunicorn("proto_app:app", env, ROOT / "bench") as proto_url, \
            gunicorn("wsgi:app", env, ROOT) as real_url:
        targets = ((BARE, bare_url), (PROTOTYPE, proto_url), (REAL, real_url))
        for n, (_target, url) in enumerate(targets):
            warm = work / f"{label}-warm.txt"
            make_bodies(warm, 8000, 90_000_000 + n * 10_000, seed=1)
            run_wrk(wrk, url, warm, 1.5)
        serial = 0
        for _ in range(rounds):
            for target, url in targets:
                bodies = work / f"{label}-round.txt"
                serial += per_run * 3
                make_bodies(bodies, per_run, serial, seed=serial)
                results[target].append(run_wrk(wrk, url, bodies, seconds))
    rows = []
    for target, runs in results.items():
        median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        row = {**median, "target": target, "database": label,
               "rounds_rps": [round(r["rps"]) for r in runs]}
        if target == REAL:
            row["stored_events"] = stored_events(database_url) - before
            row["requests"] = sum(r["requests"] for r in runs)
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'target':<16}{'database':<12}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}" \
             f"{'non-2xx':>9}{'reused':>8}  rounds (req/s)"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['target']:<16}{r['database']:<12}{r['rps']:>12.0f}{r['p50_us'] / 1000:>9.2f}"
              f"{r['p99_us'] / 1000:>9.2f}{r['non2xx'] + r['socket_errors']:>9}{r['wraps']:>8}"
              f"  {' '.join(str(x) for x in r['rounds_rps'])}")
    print()
    for database in dict.fromkeys(r["database"] for r in rows):
        of = {r["target"]: r for r in rows if r["database"] == database}
        ratio = of[REAL]["rps"] / of[BARE]["rps"]
        verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
        print(f"{database}: real ÷ bare = {ratio:.2f} ({verdict} the {TARGET_RATIO} target); "
              f"prototype ÷ bare = {of[PROTOTYPE]['rps'] / of[BARE]['rps']:.2f}; "
              f"{of[REAL]['stored_events']} events stored from {of[REAL]['requests']} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating bare/real rounds; the median is reported")
    parser.add_argument("--quick", action="store_true",
                        help="one round of 2-second runs, a smoke check")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows-to", help=argparse.SUPPRESS)  # used under with_postgres.sh
    args = parser.parse_args()
    seconds = 2.0 if args.quick else args.duration
    if args.quick:
        args.rounds = 1
    wrk = ensure_wrk()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shoprelay-bench-") as tmp:
        work = Path(tmp)
        if args.rows_to:
            from live_sale import postgres_url

            Path(args.rows_to).write_text(json.dumps(
                measure("PostgreSQL", postgres_url(), seconds, args.rounds, work, wrk)))
            return
        if args.db in ("sqlite", "both"):
            rows += measure("SQLite", f"sqlite:///{work}/bench.db", seconds, args.rounds, work,
                            wrk)
        if args.db in ("postgres", "both"):
            out = work / "postgres.json"
            subprocess.run([str(ROOT / "tests" / "tools" / "with_postgres.sh"), sys.executable,
                            __file__, "--duration", str(seconds), "--rounds", str(args.rounds),
                            "--rows-to", str(out)],
                           check=True)
            rows += json.loads(out.read_text())
    print()
    print_table(rows)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results / f"ingest-{stamp}.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
