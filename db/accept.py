"""The webhook's one write: outbox rows, straight through the database driver.

A webhook answers only after its events are stored, and platforms send many at
once. Going through SQLAlchemy's pool, events and statement compilation costs
more than the INSERT itself, so this path sends plain SQL on one driver
connection per process, and commits in groups: while one request thread
writes, the others queue their rows, and the next one to lead writes them all
with one multi-row INSERT and one commit. Everything else uses SQLAlchemy.
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
# Rows per INSERT: SQLite binds at most 32,766 parameters, PostgreSQL 65,535.
MAX_STATEMENT_ROWS = 1000
# Requests whose rows one leader writes before handing over.
MAX_BATCH_REQUESTS = 200


class OutboxWriter:
    """Insert outbox rows, skipping those whose idempotency key exists."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.postgres = parsed.get_backend_name() == "postgresql"
        if self.postgres:
            self.conninfo = parsed.set(drivername="postgresql").render_as_string(
                hide_password=False)
            self.row_marks = "(" + ", ".join(
                "%s::json" if c == "payload" else "%s" for c in COLUMNS) + ")"
        else:
            self.path = parsed.database or ""
            self.row_marks = "(" + ", ".join("?" for _ in COLUMNS) + ")"
        self.group = threading.Condition()
        self.queue: list[_Waiter] = []
        self.leading = False
        self.pg_conn: psycopg.Connection[Any] | None = None
        self.sqlite_conn: sqlite3.Connection | None = None
        self.lock_fd = -1

    def insert(self, rows: list[dict[str, Any]]) -> int:
        """How many rows were new. `payload` is a JSON string, datetimes naive UTC."""
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
                    batch = self.queue[:MAX_BATCH_REQUESTS]
                    self.queue = self.queue[MAX_BATCH_REQUESTS:]
                if not batch:
                    return waiter.result()
                self._write(batch)
                with self.group:
                    self.group.notify_all()
        finally:
            with self.group:
                self.leading = False
                self.group.notify_all()

    def _write(self, batch: list[_Waiter]) -> None:
        rows = [row for waiter in batch for row in waiter.rows]
        run = self._run_postgres if self.postgres else self._run_sqlite
        new_keys: set[str] = set()
        try:
            for start in range(0, len(rows), MAX_STATEMENT_ROWS):
                chunk = rows[start:start + MAX_STATEMENT_ROWS]
                sql = ("INSERT INTO outbox (" + ", ".join(COLUMNS) + ") VALUES "
                       + ", ".join([self.row_marks] * len(chunk))
                       + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key")
                new_keys |= run(sql, [_value(row[c], self.postgres)
                                      for row in chunk for c in COLUMNS])
        except BaseException as exc:
            for waiter in batch:
                waiter.fail(exc)
            return
        for waiter in batch:
            # A key inserted once is credited once, even if two requests carried it.
            fresh = [row["idempotency_key"] for row in waiter.rows
                     if row["idempotency_key"] in new_keys]
            new_keys.difference_update(fresh)
            waiter.succeed(len(fresh))

    def _run_postgres(self, sql: str, params: list[Any]) -> set[str]:
        if self.pg_conn is None or self.pg_conn.closed:
            # Autocommit: the one statement is its own transaction.
            self.pg_conn = psycopg.connect(self.conninfo, autocommit=True)
        try:
            with self.pg_conn.cursor() as cursor:
                cursor.execute(sql, params)
                return {row[0] for row in cursor.fetchall()}
        except psycopg.OperationalError:
            self.pg_conn.close()
            raise

    def _run_sqlite(self, sql: str, params: list[Any]) -> set[str]:
        conn = self._sqlite()
        # The same file lock as the engine's writers (db.engine): queue, don't poll.
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                keys = {row[0] for row in conn.execute(sql, params).fetchall()}
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
        return keys

    def _sqlite(self) -> sqlite3.Connection:
        if self.sqlite_conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            # As in db.engine: WAL (set on the file) with NORMAL sync, so a commit
            # is a write, not an fsync; durable across a crash of the process.
            conn.execute("PRAGMA synchronous=NORMAL")
            self.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            self.sqlite_conn = conn
        return self.sqlite_conn


class _Waiter:
    """One request's rows, and what became of them."""

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


def _value(value: Any, postgres: bool) -> Any:
    if isinstance(value, datetime) and not postgres:
        # The text form SQLAlchemy's SQLite DateTime type reads back.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value

