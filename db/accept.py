"""The webhook's one write: outbox rows, straight through the database driver.

A webhook answers only after its events are stored, and platforms send many.
Going through SQLAlchemy's pool, events and statement compilation costs more
than the INSERT itself, so this path keeps one driver connection per thread
and sends plain SQL. Everything else uses SQLAlchemy.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

COLUMNS = ("shop_id", "destination", "lane", "kind", "payload", "idempotency_key", "status",
           "attempts", "next_attempt_at", "created_at")
_INSERT = ("INSERT INTO outbox (" + ", ".join(COLUMNS) + ") VALUES ({marks}) "
           "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id")


class OutboxWriter:
    """Insert outbox rows, skipping those whose idempotency key exists."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.postgres = parsed.get_backend_name() == "postgresql"
        if self.postgres:
            self.conninfo = parsed.set(drivername="postgresql").render_as_string(
                hide_password=False)
            marks = ", ".join("%s::json" if c == "payload" else "%s" for c in COLUMNS)
        else:
            self.path = parsed.database or ""
            marks = ", ".join("?" for _ in COLUMNS)
        self.sql = _INSERT.format(marks=marks)
        self.local = threading.local()
        # SQLite: one connection per process, used by whichever thread leads a commit.
        self.group = threading.Condition()
        self.queue: list[_Waiter] = []
        self.leading = False
        self.sqlite_conn: sqlite3.Connection | None = None
        self.lock_fd = -1

    def insert(self, rows: list[dict[str, Any]]) -> int:
        """How many rows were new. `payload` is a JSON string, datetimes naive UTC."""
        if self.postgres:
            return self._insert_postgres(rows)
        return self._insert_sqlite(rows)

    def _insert_postgres(self, rows: list[dict[str, Any]]) -> int:
        conn = getattr(self.local, "pg", None)
        if conn is None or conn.closed:
            # Autocommit: each INSERT is one round trip. An event stored before
            # a later one failed is recognised as a duplicate on redelivery.
            conn = self.local.pg = psycopg.connect(self.conninfo, autocommit=True)
        added = 0
        try:
            with conn.cursor() as cursor:
                for row in rows:
                    cursor.execute(self.sql, [row[c] for c in COLUMNS])
                    added += cursor.fetchone() is not None
        except psycopg.OperationalError:
            conn.close()
            raise
        return added

    def _insert_sqlite(self, rows: list[dict[str, Any]]) -> int:
        """Group commit: while one thread commits, others queue their rows; the
        next one to lead commits them all in one transaction. SQLite allows one
        writer at a time, so sharing commits is where concurrent webhooks gain."""
        waiter = _Waiter(rows)
        with self.group:
            self.queue.append(waiter)
            while not waiter.done and self.leading:
                self.group.wait()
            if waiter.done:
                return waiter.result()
            self.leading = True
        try:
            while True:
                with self.group:
                    batch, self.queue = self.queue, []
                    if not batch:
                        return waiter.result()
                self._commit_batch(batch)
                with self.group:
                    self.group.notify_all()
        finally:
            with self.group:
                self.leading = False
                self.group.notify_all()

    def _commit_batch(self, batch: list[_Waiter]) -> None:
        conn = self._sqlite()
        # The same file lock as the engine's writers (db.engine): queue, don't poll.
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts = [sum(conn.execute(self.sql, [_sqlite_value(row[c]) for c in COLUMNS])
                              .fetchone() is not None for row in w.rows) for w in batch]
                conn.execute("COMMIT")
            except BaseException as exc:
                conn.execute("ROLLBACK")
                for w in batch:
                    w.fail(exc)
                return
        finally:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
        for w, count in zip(batch, counts, strict=True):
            w.succeed(count)

    def _sqlite(self) -> sqlite3.Connection:
        if self.sqlite_conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            # As in db.engine: WAL (set on the file) with NORMAL sync, so a commit
            # is a write, not an fsync; durable across a crash of the process.
            conn.execute("PRAGMA synchronous=NORMAL")
            # Leave WAL checkpoints to the worker's connections (default 1000
            # pages): a checkpoint copies megabytes and would stall a webhook.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            self.sqlite_conn = conn
        return self.sqlite_conn


class _Waiter:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.done = False
        self.count = 0
        self.error: BaseException | None = None

    def succeed(self, count: int) -> None:
        self.count, self.done = count, True

    def fail(self, error: BaseException) -> None:
        self.error, self.done = error, True

    def result(self) -> int:
        if self.error is not None:
            raise self.error
        return self.count


def _sqlite_value(value: Any) -> Any:
    # The text form SQLAlchemy's SQLite DateTime type reads back.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value
