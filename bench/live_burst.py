"""Live-sale benchmark: automated invoices while a Facebook live takes a storm of CF comments.

    python bench/live_burst.py [--db sqlite|postgres|both] [--quick]
                               [--comments 10000] [--customers 1000] [--duration 60]

Per database (SQLite, and PostgreSQL in a throwaway cluster from
tests/tools/with_postgres.sh) it runs the real thing end to end:

1. fake Graph and Telegram servers on loopback, each call 50 ms slow, Telegram
   holding the group to 20 messages a minute (429 + retry_after beyond, counted);
2. a fresh, migrated database with 20 products A01–A20 (five sell out in
   seconds), automation on and a live running on the post (rows written directly);
3. gunicorn wsgi:app (2 workers × 4 threads, as `python -m bot web`) and
   `python -m bot worker` (on PostgreSQL `--processes` one per core, as a shop
   there would run it; SQLite has one writer, so one), pointed at the fakes;
4. 10,000 signed Meta feed webhooks (X-Hub-Signature-256) from 1,000 commenters
   over 60 s: "CF A03 2", "cf a07", "F A12 1 ค่ะ", cancellations "ยกเลิก",
   questions "A01 ราคาเท่าไหร่"; a fifth of them in one burst ("CF now!") to see
   the webhook's peak acceptance rate; 3 % delivered twice, as Meta does;
5. waits until every comment is applied and the orders equal the benchmark's own
   model of them (written order, the earliest writer gets the last unit, the same
   code again sets the quantity, "ยกเลิก" cancels, questions are no orders), and
   checks nothing was lost or applied twice and reserved stock adds up;
6. prints a table per database against the goals (≥ 1,000 events/s, every order
   right within 60 s of the last comment, 0 lost, 0 duplicated, 0 × 429, peak RSS
   < 150 MB) and writes bench/results/live_burst-<time>.json.

`--quick`: 1,000 comments, 100 commenters, 10 s. Every process and temporary
directory is removed at the end, also on failure or Ctrl-C. Not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from live_fakes import Platforms, start_platforms  # noqa: E402
from live_sale import (  # noqa: E402
    PAGE_ID,
    POST_ID,
    Comment,
    check,
    customer_queue,
    make_comments,
    outbox_backlog,
    postgres_url,
    quiet,
    seed,
    stock_for,
)
from sqlalchemy import Engine, create_engine  # noqa: E402

META_SECRET = "bench-meta-secret"
PAGE_TOKEN = "bench-page-token"
TG_TOKEN = "7123456789:AAbench-token"
ADMIN_CHAT_ID = -1002145678901
# As `python -m bot web` runs it (bot/serve.py): two workers of four threads.
GUNICORN = ["-w", "2", "--threads", "4", "--backlog", "2048", "--log-level", "warning",
            "--access-logfile", "/dev/null"]
GOAL_EVENTS_PER_S = 1000
GOAL_CORRECT_S = 60.0
GOAL_RSS_MB = 150.0
MB = 1024 * 1024


@dataclass
class Config:
    comments: int = 10_000
    customers: int = 1000
    duration: float = 60.0
    latency_ms: float = 50.0
    telegram_per_minute: int = 20
    senders: int = 16
    settle_timeout: float = 180.0  # after the last comment, for every order to be right
    drain_timeout: float = 60.0  # then, for the replies to customers to go out
    seed: int = 7
    # `python -m bot worker --processes N` on PostgreSQL (SQLite: always one).
    pg_worker_processes: int = os.cpu_count() or 1

    @classmethod
    def quick(cls) -> Config:
        return cls(comments=1000, customers=100, duration=10.0, settle_timeout=90.0,
                   drain_timeout=30.0)


# --------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(name: str, command: list[str], env: dict[str, str], log: Path,
            cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session, its output in `log`; it and its children are
    stopped (TERM, then KILL) however the block ends."""
    with log.open("wb") as out:
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield child
    finally:
        _stop_group(child, name)


def _stop_group(child: subprocess.Popen[bytes], name: str) -> None:
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        with suppress(ProcessLookupError):
            os.killpg(child.pid, sig)  # the session we started: the child and its own
        try:
            child.wait(wait)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop on {sig.name}", file=sys.stderr)
            continue
        if sig == signal.SIGTERM:
            # Gunicorn's workers may outlive the master by a moment: sweep the group.
            with suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        return


def wait_until(what: str, ready: Any, child: subprocess.Popen[bytes], log: Path,
               timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if child.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{what} did not start:\n{tail}")
        time.sleep(0.1)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def server_env(database_url: str, platforms: Platforms) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "LINE_", "META_", "FACEBOOK_", "INSTAGRAM_",
                                "GRAPH_", "SHOP_", "DATABASE_", "WORKER_", "SUMMARY_"))}
    env.update(
        PYTHONPATH=str(ROOT), DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_ADMIN_CHAT_ID=str(ADMIN_CHAT_ID),
        TELEGRAM_WEBHOOK_SECRET="bench-tg-secret",
        TELEGRAM_API_URL=platforms.telegram_server.url,
        META_APP_SECRET=META_SECRET, META_VERIFY_TOKEN="bench-verify",
        FACEBOOK_PAGE_ID=PAGE_ID, FACEBOOK_PAGE_ACCESS_TOKEN=PAGE_TOKEN,
        GRAPH_API_URL=platforms.graph_server.url, GRAPH_API_VERSION=platforms.graph.version,
        # LINE is off (no secret); its roots point nowhere in case anything asks.
        LINE_API_URL="http://127.0.0.1:9", LINE_DATA_API_URL="http://127.0.0.1:9",
        WORKER_POLL_SECONDS="0.05", SUMMARY_TIME="off",
    )
    return env


class RssWatch:
    """Peak resident memory (VmHWM) and CPU time of process trees, sampled every second."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.peak: dict[int, tuple[str, str, int]] = {}  # pid -> (role, command, bytes)
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (role, user + system seconds)
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-watch", daemon=True)

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(1.0):
                return

    def sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    parents[int(entry.name)] = int(fields[1])
                except (OSError, IndexError, ValueError):
                    continue
        for role, root in self.roots.items():
            tree, frontier = {root}, [root]
            while frontier:
                pid = frontier.pop()
                kids = [p for p, parent in parents.items() if parent == pid]
                tree.update(kids)
                frontier.extend(kids)
            for pid in tree:
                hwm = _vm_hwm(pid)
                if hwm is None:
                    continue
                label = "master" if pid == root and role == "web" else role
                seconds = _cpu_seconds(pid)
                if seconds is not None:
                    self.cpu[pid] = (role, seconds)
                command = _command(pid)
                old = self.peak.get(pid)
                if old is None or hwm > old[2]:
                    self.peak[pid] = (label, command, hwm)

    def peak_mb(self, role: str) -> float:
        values = [b for label, _, b in self.peak.values() if label == role]
        return max(values) / MB if values else 0.0

    def cpu_share(self, role: str) -> float:
        """CPU seconds of the role's processes per second watched (1.0 = one core)."""
        spent = sum(seconds for label, seconds in self.cpu.values() if label == role)
        return spent / max(time.monotonic() - self.started, 1e-9)


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _vm_hwm(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
    except OSError:
        return "?"


# --------------------------------------------------------------------------- sending

@dataclass
class Delivery:
    comment: Comment
    due: float
    again: bool  # a redelivery of a body already sent


@dataclass
class Sent:
    start: float
    end: float
    ok: bool
    burst: bool
    again: bool
    attempts: int


def send_comments(port: int, comments: list[Comment], platforms: Platforms,
                  threads: int, stop: threading.Event) -> tuple[list[Sent], float]:
    """Post every comment (and the redeliveries) on schedule from `threads` senders;
    returns what happened to each and the monotonic time sending started."""
    plan = [Delivery(c, c.due, False) for c in comments]
    plan += [Delivery(c, c.redeliver_at, True) for c in comments if c.redeliver_at is not None]
    plan.sort(key=lambda d: d.due)
    lock = threading.Lock()
    cursor = iter(plan)
    results: list[list[Sent]] = [[] for _ in range(threads)]
    started = time.monotonic() + 0.5

    def sender(mine: list[Sent]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while not stop.is_set():
                with lock:
                    delivery = next(cursor, None)
                if delivery is None:
                    return
                pause = started + delivery.due - time.monotonic()
                if pause > 0 and stop.wait(pause):
                    return
                conn, record = _post(conn, port, delivery, platforms)
                mine.append(record)
        finally:
            conn.close()

    workers = [threading.Thread(target=sender, args=(results[n],), name=f"sender-{n}",
                                daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    shown = time.monotonic()
    for worker in workers:
        while worker.is_alive():
            worker.join(0.5)
            if time.monotonic() - shown >= 10:
                shown = time.monotonic()
                print(f"  … {shown - started:5.1f} s: {sum(map(len, results)):,} of "
                      f"{len(plan):,} webhooks posted", file=sys.stderr)
    return [r for part in results for r in part], started


def _post(conn: http.client.HTTPConnection, port: int, delivery: Delivery,
          platforms: Platforms) -> tuple[http.client.HTTPConnection, Sent]:
    comment = delivery.comment
    with comment.lock:
        if not comment.body:
            created = int(time.time())
            comment.sign(META_SECRET, created)
            # Graph knows the comment as the webhook announced it (for the private reply).
            platforms.graph.add_comment(comment.comment_id, comment.author, created,
                                        post_id=POST_ID, message=comment.text,
                                        messaging_id=comment.psid, name=comment.name)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": comment.signature}
    start = time.monotonic()
    ok = False
    attempts = 0
    stale = conn.sock is not None  # a kept-alive connection the server may have closed
    while not ok and attempts < 5:  # Meta retries a failed delivery too
        attempts += 1
        try:
            conn.request("POST", "/webhooks/meta", body=comment.body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            ok = response.status == 200 and b'"ok"' in answer
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if stale:  # gunicorn closes idle keep-alive connections: not a failure
                stale = False
                attempts -= 1
                continue
        if not ok:
            time.sleep(0.5)
    return conn, Sent(start, time.monotonic(), ok, comment.burst, delivery.again, attempts)


def ingest_rates(sent: list[Sent]) -> dict[str, float]:
    """Accepted webhook events per second over the whole run and during the burst."""
    accepted = [s for s in sent if s.ok]
    first, last = min(s.start for s in sent), max(s.end for s in sent)
    figures = {"sent": len(sent), "accepted": len(accepted),
               "failed": len(sent) - len(accepted),
               "retried": sum(1 for s in sent if s.attempts > 1),
               "send_seconds": last - first,
               "events_per_s": len(accepted) / max(last - first, 1e-9)}
    burst = [s for s in sent if s.burst and not s.again]
    if burst:
        b_first, b_last = min(s.start for s in burst), max(s.end for s in burst)
        during = [s for s in accepted if b_first <= s.end <= b_last]
        figures["burst_events"] = len(during)
        figures["burst_seconds"] = b_last - b_first
        figures["burst_events_per_s"] = len(during) / max(b_last - b_first, 1e-9)
    latencies = sorted((s.end - s.start) * 1000 for s in accepted)
    if latencies:
        figures["p50_ms"] = statistics.median(latencies)
        figures["p99_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return figures


# --------------------------------------------------------------------------- waiting

@dataclass
class Settled:
    result: dict[str, Any]  # the last check
    applied_after: float | None  # s from the last comment sent until all were applied
    correct_after: float | None  # … until the orders equalled the model
    lowest: dict[str, int]  # the lowest stock figures seen meanwhile
    last: dict[str, int]  # what was still on its way at the end


def settle(engine: Engine, comments: list[Comment], stock: dict[str, int], last_sent: float,
           cfg: Config) -> Settled:
    """Poll until every comment is routed and applied and the orders equal the model
    (or nothing changes any more for 10 s, or the settle timeout)."""
    deadline = last_sent + cfg.settle_timeout
    lowest = {"min_available": 0, "min_reserved": 0}
    result: dict[str, Any] = {}
    applied_after: float | None = None
    quiet_since: float | None = None
    shown = 0.0
    while True:
        now = time.monotonic()
        state = quiet(engine)
        lowest = {key: min(value, state[key]) for key, value in lowest.items()}
        if now - shown >= 5:
            shown = now
            print(f"  … {now - last_sent:5.1f} s after the last comment: "
                  f"{state['accepted'] + state['routing']} to route, {state['pending']} CF "
                  f"pending, {state['applied']} applied", file=sys.stderr)
        if state["accepted"] == state["routing"] == state["pending"] == 0:
            applied_after = applied_after or now - last_sent
            result = check(engine, comments, stock)
            if result["orders_correct"] == result["orders_total"] \
                    and not result["stock_problems"]:
                return Settled(result, applied_after, time.monotonic() - last_sent, lowest, state)
            quiet_since = quiet_since or now
            if now - quiet_since > 10:  # nothing left to apply, and still wrong
                return Settled(result, applied_after, None, lowest, state)
        else:
            quiet_since = None
            applied_after = None
        if now > deadline:
            return Settled(result or check(engine, comments, stock), applied_after, None,
                           lowest, state)
        time.sleep(0.25)


def digest_view(platforms: Platforms) -> dict[str, Any]:
    """What the admins' digest in the fake Telegram says at the end, and how old it is."""
    with platforms.telegram._cond:  # the fake's lock over `sent`
        texts = [(m.text or "", m.edit_date or m.date) for m in platforms.telegram.sent
                 if "CF comments applied" in (m.text or "")]
    if not texts:
        return {"applied_shown": None, "age_s": None, "posts": 0}
    text_now, when = texts[-1]
    found = re.search(r"Last 24 h: (\d+) CF comments applied", text_now)
    return {"applied_shown": int(found.group(1)) if found else None,
            "age_s": round(time.time() - when, 1), "posts": len(texts)}


def drain_replies(engine: Engine, last_sent: float, timeout: float) -> tuple[float | None, int]:
    """Wait for the replies to customers; (seconds after the last comment, still queued)."""
    deadline = time.monotonic() + timeout
    while True:
        left = customer_queue(engine)
        if left == 0:
            return time.monotonic() - last_sent, 0
        if time.monotonic() > deadline:
            return None, left
        time.sleep(0.5)


# --------------------------------------------------------------------------- one run

def read_engine(url: str) -> Engine:
    """A plain engine for the benchmark's reads: no BEGIN IMMEDIATE, no file lock, so
    watching never queues behind (or in front of) the application's writers."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url, pool_size=2)


def _own_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def log_summary(paths: list[Path]) -> dict[str, Any]:
    """Warnings and errors of the server processes, alike lines counted together."""
    counts: Counter[str] = Counter()
    tracebacks = 0
    pattern = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (\S+): (.*)$")
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Traceback"):
                tracebacks += 1
            found = pattern.match(line)
            if found:
                text = re.sub(r"\d+", "#", found.group(3))[:140]
                counts[f"{found.group(1)} {found.group(2)}: {text}"] += 1
    return {"tracebacks": tracebacks, "lines": dict(counts.most_common(12))}


def run(label: str, url: str, cfg: Config, work: Path) -> dict[str, Any]:
    from db.migrate import upgrade

    print(f"{label}: migrating and seeding …", file=sys.stderr)
    upgrade(url)
    stock = stock_for(cfg.customers)
    seed(url, stock)
    comments = make_comments(cfg.comments, cfg.customers, cfg.duration, seed=cfg.seed)
    engine = read_engine(url)
    stop = threading.Event()
    logs = [work / f"{label}-web.log", work / f"{label}-worker.log"]
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        stack.callback(stop.set)
        platforms = start_platforms(
            telegram_token=TG_TOKEN, admin_chat_id=ADMIN_CHAT_ID, page_token=PAGE_TOKEN,
            page_id=PAGE_ID, latency=cfg.latency_ms / 1000, per_minute=cfg.telegram_per_minute)
        stack.callback(platforms.stop)
        platforms.graph.add_post(POST_ID, "🔴 LIVE เสื้อยืดมือหนึ่ง ลดทั้งร้าน CF ได้เลยค่ะ",
                                 f"https://www.facebook.com/{PAGE_ID}/videos/{POST_ID}")
        env = server_env(url, platforms)
        port = free_port()
        web = stack.enter_context(process(
            "gunicorn", [sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"127.0.0.1:{port}",
                         "--chdir", str(ROOT), "wsgi:app"], env, logs[0], work))
        processes = cfg.pg_worker_processes if url.startswith("postgresql") else 1
        worker = stack.enter_context(process(
            "worker", [sys.executable, "-m", "bot", "worker", "--processes", str(processes)],
            env, logs[1], work))
        wait_until("gunicorn", lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), web,
                   logs[0])
        wait_until("the worker", lambda: "delivery worker" in logs[1].read_text(errors="replace"),
                   worker, logs[1])
        rss = stack.enter_context(RssWatch({"web": web.pid, "worker": worker.pid}))

        print(f"{label}: sending {cfg.comments} comments over {cfg.duration:g} s …",
              file=sys.stderr)
        sent, _ = send_comments(port, comments, platforms, cfg.senders, stop)
        rates = ingest_rates(sent)
        last_sent = max(s.end for s in sent)
        print(f"{label}: {rates['accepted']} webhooks accepted at {rates['events_per_s']:.0f}/s"
              f" (burst {rates.get('burst_events_per_s', 0):.0f}/s); waiting for the orders …",
              file=sys.stderr)
        settled = settle(engine, comments, stock, last_sent, cfg)
        result, lowest = settled.result, settled.lowest
        replies_after, replies_left = drain_replies(engine, last_sent, cfg.drain_timeout)
        backlog = outbox_backlog(engine)
        rss.sample()
        delivered = Counter(d.kind for d in platforms.graph.delivered)
        # The one "order received" (or "canceled") reply per commenter and live; the
        # "🎉 available again" notices of the waiting list come on top of it.
        private_per_person = Counter(d.user_id for d in platforms.graph.delivered
                                     if d.kind == "private_reply"
                                     and (d.text or "").startswith(("✅", "✖️")))
        notices = sum(1 for d in platforms.graph.delivered
                      if d.kind in ("private_reply", "message")
                      and (d.text or "").startswith("🎉"))
        telegram = platforms.telegram_stats.snapshot()
        digest = digest_view(platforms)
        graph = platforms.graph_stats.snapshot()
        rss_web = rss.peak_mb("web")
        rss_worker = rss.peak_mb("worker")
        rss_master = rss.peak_mb("master")
        cpu = {"web": rss.cpu_share("web"), "worker": rss.cpu_share("worker"),
               "benchmark": _own_cpu() / max(time.monotonic() - rss.started, 1e-9),
               "cores": os.cpu_count() or 1}
    told_twice = sum(n - 1 for n in private_per_person.values() if n > 1)
    return {
        "database": label, "config": asdict(cfg), "worker_processes": processes,
        "comments": {"order": sum(c.intent == "order" for c in comments),
                     "cancel": sum(c.intent == "cancel" for c in comments),
                     "question": sum(c.intent == "question" for c in comments),
                     "burst": sum(c.burst for c in comments),
                     "redelivered": sum(c.redeliver_at is not None for c in comments)},
        "ingest": rates,
        "applied_after_s": settled.applied_after,
        "at_settle_end": settled.last,
        "correct_after_s": settled.correct_after,
        **result,
        "duplicated": result.get("duplicated", 0) + told_twice,
        "customers_told_twice": told_twice,
        "lowest_available_seen": lowest["min_available"],
        "lowest_reserved_seen": lowest["min_reserved"],
        "private_replies": sum(private_per_person.values()),
        "private_replies_all": delivered.get("private_reply", 0),
        "waitlist_notices": notices,
        "public_replies": delivered.get("comment_reply", 0),
        "replies_done_after_s": replies_after, "replies_still_queued": replies_left,
        "telegram": telegram, "graph": graph, "digest": digest,
        "rss_mb": {"web_worker": rss_web, "web_master": rss_master, "worker": rss_worker},
        "cpu_cores_used": cpu,
        "outbox_not_done": backlog,
        "logs": log_summary(logs),
    }


# --------------------------------------------------------------------------- report

def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def print_table(row: dict[str, Any]) -> None:
    cfg, ingest, tg = row["config"], row["ingest"], row["telegram"]
    counts = row["comments"]
    print(f"\n{row['database']}: {cfg['comments']:,} comments ({counts['burst']:,} in one burst,"
          f" {counts['order']:,} CF / {counts['cancel']} cancel / {counts['question']} questions,"
          f" {counts['redelivered']} sent twice) from {cfg['customers']:,} commenters over "
          f"{cfg['duration']:g} s; platforms {cfg['latency_ms']:g} ms slow; "
          f"worker processes: {row.get('worker_processes', 1)}")
    correct = row["correct_after_s"]
    rows = [
        ("webhook events/s over the run (offered "
         f"{(cfg['comments'] + counts['redelivered']) / cfg['duration']:.0f}/s)",
         f"{ingest['events_per_s']:,.0f}", "", ""),
        ("webhook events/s during the burst", f"{ingest.get('burst_events_per_s', 0):,.0f}",
         f"≥ {GOAL_EVENTS_PER_S:,}",
         _verdict(ingest.get("burst_events_per_s", 0) >= GOAL_EVENTS_PER_S)),
        ("webhook latency p50 / p99 ms",
         f"{ingest.get('p50_ms', 0):.1f} / {ingest.get('p99_ms', 0):.1f}", "", ""),
        ("webhooks failed (after 5 tries)", f"{ingest['failed']}", "0",
         _verdict(ingest["failed"] == 0)),
        ("s from last comment sent to all applied",
         f"{row['applied_after_s']:.1f}" if row["applied_after_s"] is not None else "never",
         "", ""),
        ("s from last comment sent to last order right",
         f"{correct:.1f}" if correct is not None else "never", f"≤ {GOAL_CORRECT_S:g}",
         _verdict(correct is not None and correct <= GOAL_CORRECT_S)),
        ("orders correct / total", f"{row['orders_correct']:,} / {row['orders_total']:,}",
         "all", _verdict(row["orders_correct"] == row["orders_total"])),
        ("  … given the application's reading of the comments",
         f"{row['orders_correct_as_read']:,} / {row['orders_total_as_read']:,}", "", ""),
        ("comments lost (stored as chat + vanished)",
         f"{row['lost']} ({row['not_captured']} + {row['lost'] - row['not_captured']})", "0",
         _verdict(row["lost"] == 0)),
        ("comments not routed yet when the wait ended", f"{row['still_queued']:,}", "0",
         _verdict(row["still_queued"] == 0)),
        ("applied or told twice", f"{row['duplicated']}", "0",
         _verdict(row["duplicated"] == 0)),
        ("stock: negative / reserved ≠ open lines",
         f"{'yes' if row['lowest_available_seen'] < 0 or row['lowest_reserved_seen'] < 0 else 'no'}"
         f" / {len(row['stock_problems'])}", "no / 0",
         _verdict(not row["stock_problems"] and row["lowest_available_seen"] >= 0)),
        ("order private replies sent / commenters to tell",
         f"{row['private_replies']:,} / {row['expected_private_replies']:,}", "", ""),
        ("waiting list: \"available again\" sent / filled / model",
         f"{row['waitlist_notices']:,} / {row['served_from_waitlist']:,} / "
         f"{row['expected_served_from_waitlist']:,}", "", ""),
        ("sold-out public replies sent / expected",
         f"{row['public_replies']:,} / {row['expected_sold_out_replies']:,}", "", ""),
        ("replies to customers all out after s",
         f"{row['replies_done_after_s']:.1f}" if row["replies_done_after_s"] is not None
         else f"no, {row['replies_still_queued']:,} queued", "", ""),
        ("Telegram calls (group writes) / 429s",
         f"{tg['calls']:,} ({tg['group_writes']:,}) / {tg['rejected_429']}", "0 × 429",
         _verdict(tg["rejected_429"] == 0)),
        ("admins' digest: applied shown / applied, age s",
         (f"{row['digest']['applied_shown']} / {row['cf_status'].get('applied', 0):,}, "
          f"{row['digest']['age_s']}") if row["digest"]["posts"] else "never posted", "", ""),
        ("peak RSS MB: web worker / worker",
         f"{row['rss_mb']['web_worker']:.0f} / {row['rss_mb']['worker']:.0f}",
         f"< {GOAL_RSS_MB:g}",
         _verdict(max(row["rss_mb"]["web_worker"], row["rss_mb"]["worker"]) < GOAL_RSS_MB)),
    ]
    width = max(len(r[0]) for r in rows) + 2
    print(f"  {'measure':<{width}}{'result':>22}  {'goal':<10}")
    print("  " + "-" * (width + 40))
    for name, value, goal, verdict in rows:
        print(f"  {name:<{width}}{value:>22}  {goal:<10}{verdict}")
    notes = []
    if row["applied_after_s"] is None:
        last = row["at_settle_end"]
        notes.append(f"gave up {cfg['settle_timeout']:g} s after the last comment with "
                     f"{last['accepted'] + last['routing']:,} comments still to route and "
                     f"{last['pending']:,} captured but not applied ({last['applied']:,} applied)")
    if row["not_captured"]:
        notes.append(f"{row['not_captured']} order/cancel comments stored as plain chat, not "
                     f"captured: {row['not_captured_examples']}")
    if row["misread"]:
        notes.append(f"{row['misread']} comments read differently than meant: "
                     f"{row['misread_examples'][:3]}")
    if row["questions_taken_as_orders"]:
        notes.append(f"{row['questions_taken_as_orders']} questions taken as CF comments")
    if row["wrong_examples"]:
        notes.append("orders not as modelled, e.g. " + " | ".join(row["wrong_examples"][:2]))
    if row["stock_problems"]:
        notes.append("stock: " + "; ".join(row["stock_problems"][:3]))
    cpu = row["cpu_cores_used"]
    notes.append(f"CPU in cores, on average over the run ({cpu['cores']} on this machine): "
                 f"web {cpu['web']:.2f}, worker {cpu['worker']:.2f}, "
                 f"benchmark and fakes {cpu['benchmark']:.2f}")
    waiting = {k: v for k, v in row["outbox_not_done"].items() if v}
    if waiting:
        notes.append(f"outbox not done at the end: {waiting}")
    if row["logs"]["lines"] or row["logs"]["tracebacks"]:
        top = list(row["logs"]["lines"].items())[:4]
        notes.append(f"server log: {row['logs']['tracebacks']} tracebacks; "
                     + "; ".join(f"{n}× {line}" for line, n in top))
    for note in notes:
        print(f"  · {note}")


# --------------------------------------------------------------------------- main

def run_postgres(cfg: Config, work: Path, keep_logs: str | None) -> dict[str, Any]:
    """This script again, inside a throwaway cluster; Ctrl-C reaches it as SIGINT."""
    out = work / "postgres.json"
    command = [str(ROOT / "tests" / "tools" / "with_postgres.sh"), sys.executable, __file__,
               "--rows-to", str(out), "--config", json.dumps(asdict(cfg))]
    if keep_logs:
        command += ["--keep-logs", keep_logs]
    child = subprocess.Popen(command, start_new_session=True)
    try:
        code = child.wait()
    except BaseException:
        os.killpg(child.pid, signal.SIGINT)  # the script stops its cluster on the way out
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
        raise
    if code != 0:
        raise RuntimeError(f"the PostgreSQL run failed (exit {code})")
    return dict(json.loads(out.read_text()))


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true",
                        help="1,000 comments from 100 commenters over 10 s")
    defaults = Config()
    parser.add_argument("--comments", type=int)
    parser.add_argument("--customers", type=int)
    parser.add_argument("--duration", type=float, help="seconds of sending")
    parser.add_argument("--latency-ms", type=float, default=defaults.latency_ms)
    parser.add_argument("--telegram-per-minute", type=int,
                        default=defaults.telegram_per_minute)
    parser.add_argument("--senders", type=int, default=defaults.senders)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--pg-worker-processes", type=int, default=defaults.pg_worker_processes,
                        help="`python -m bot worker --processes N` on PostgreSQL "
                             "(default: one per core)")
    parser.add_argument("--settle-timeout", type=float,
                        help="seconds after the last comment to wait for the orders "
                             f"(default {defaults.settle_timeout:g}, quick "
                             f"{Config.quick().settle_timeout:g})")
    parser.add_argument("--drain-timeout", type=float,
                        help="then seconds to wait for the replies to customers "
                             f"(default {defaults.drain_timeout:g})")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the server logs here")
    parser.add_argument("--rows-to", help=argparse.SUPPRESS)  # used under with_postgres.sh
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    if args.config:
        cfg = Config(**json.loads(args.config))
    else:
        cfg = Config.quick() if args.quick else Config()
        for name in ("comments", "customers", "duration", "settle_timeout", "drain_timeout"):
            if getattr(args, name) is not None:
                setattr(cfg, name, getattr(args, name))
        cfg.latency_ms, cfg.telegram_per_minute = args.latency_ms, args.telegram_per_minute
        cfg.senders, cfg.seed = args.senders, args.seed
        cfg.pg_worker_processes = args.pg_worker_processes
    if cfg.comments < cfg.customers:
        parser.error("--comments must be at least --customers (everyone comments once)")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shoprelay-live-") as tmp:
        work = Path(tmp)
        try:
            if args.rows_to:
                row = run("PostgreSQL", postgres_url(), cfg, work)
                Path(args.rows_to).write_text(json.dumps(row))
                return
            if args.db in ("sqlite", "both"):
                rows.append(run("SQLite", f"sqlite:///{work}/live.db", cfg, work))
            if args.db in ("postgres", "both"):
                rows.append(run_postgres(cfg, work, args.keep_logs))
        finally:
            if args.keep_logs:
                keep = Path(args.keep_logs)
                keep.mkdir(parents=True, exist_ok=True)
                for log in work.glob("*.log"):
                    (keep / log.name).write_bytes(log.read_bytes())
    for row in rows:
        print_table(row)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"live_burst-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
    print(f"\nfigures written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped and removed", file=sys.stderr)
        sys.exit(130)
