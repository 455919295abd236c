"""The webhook's one write: accepted events, straight through the database driver.

A webhook answers only after its events are stored, and platforms send many at
once. Going through SQLAlchemy's pool, events and statement compilation costs
more than the INSERT itself, so this path sends plain SQL on one driver
connection per process, and commits in groups: while one request thread
writes, the others queue their rows, and the next one to lead writes them all
with one multi-row INSERT and one commit. Everything else uses SQLAlchemy.

SQLite has one writer per file, and the worker's transactions (a batch of
routed comments) take milliseconds: a webhook queued behind them answered a
live sale's burst of comments at a fifth of the rate it manages alone. So on
SQLite accepted events wait in a file of their own beside the database
(`inbox_path`), which only webhooks write to and the worker empties
(`waiting`, `forget`); on PostgreSQL they wait in the accepted_events table.

On PostgreSQL even psycopg's cursor (adaptation, result rows as tuples) costs
about twice the CPU of the round trip, so this path talks to libpq through
psycopg's `pq` layer: each statement shape is prepared once per connection and
executed with parameters already encoded as UTF-8 by the request's own thread.
Encoding there also finds what no database can store (a NUL character, text
that is not Unicode) before it joins a group, so one bad request never spoils
the others' commit: it gets `BadValue`, which the webhook answers with 400.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from typing import Any, NamedTuple

import psycopg
from psycopg import pq
from sqlalchemy.engine import make_url

log = logging.getLogger("db.accept")

COLUMNS = ("shop_id", "event_key", "lane", "payload")
KEY = COLUMNS.index("event_key")
Row = tuple[int, str, str, str]
# Rows per INSERT: SQLite binds at most 32,766 parameters, PostgreSQL 65,535.
MAX_STATEMENT_ROWS = 1000
# Requests whose rows one leader writes before handing over.
MAX_BATCH_REQUESTS = 200


INBOX_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS accepted_events (id INTEGER PRIMARY KEY,"
    " shop_id INTEGER NOT NULL, event_key VARCHAR(200) NOT NULL UNIQUE,"
    " lane VARCHAR(200) NOT NULL, payload TEXT NOT NULL)")


def inbox_path(url: str) -> str | None:
    """Where a SQLite database's accepted events wait; None on PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return None
    return (parsed.database or "") + ".inbox"


class Waiting(NamedTuple):
    """An accepted event in the SQLite inbox, not yet taken by the worker."""

    id: int
    shop_id: int
    event_key: str
    lane: str
    payload: str


class BadValue(ValueError):
    """A value in a row that the database cannot store; nothing was written."""


class AcceptWriter:
    """Insert accepted events (db.models.AcceptedEvent), skipping known event keys."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.postgres = parsed.get_backend_name() == "postgresql"
        if self.postgres:
            self.conninfo = parsed.set(drivername="postgresql").render_as_string(
                hide_password=False)
        else:
            self.path = inbox_path(url) or ""
        self.group = threading.Condition()
        self.queue: list[_Waiter] = []
        self.leading = False
        self.pg_conn: psycopg.Connection[Any] | None = None
        self.sqlite_conn: sqlite3.Connection | None = None
        # One SQLite connection per process; the flock queues processes, this threads.
        self.sqlite_lock = threading.Lock()
        self.lock_fd = -1
        self.statements: dict[int, str] = {}
        # Statement shapes (rows per INSERT) prepared on the current connection.
        self.prepared: set[int] = set()

    def insert(self, rows: list[Row]) -> int:
        """How many rows were new. A row holds COLUMNS' values, `payload` a JSON string."""
        # Checked on both databases, so what is refused does not depend on which.
        waiter = _Waiter(rows, _encoded(rows))
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

    def waiting(self, limit: int) -> list[Waiting]:
        """SQLite: the oldest accepted events in the inbox, for the worker to move."""
        with self.sqlite_lock:
            rows = self._sqlite().execute(
                "SELECT id, shop_id, event_key, lane, payload FROM accepted_events"
                " ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [Waiting(*row) for row in rows]

    def forget(self, ids: list[int]) -> None:
        """SQLite: drop events the worker has moved into the outbox (committed)."""
        with self.sqlite_lock:
            conn = self._sqlite()
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            try:
                for chunk in _chunks(ids):
                    conn.execute("DELETE FROM accepted_events WHERE id IN ("
                                 + ", ".join("?" for _ in chunk) + ")", chunk)
            finally:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def _write(self, batch: list[_Waiter]) -> None:
        try:
            if self.postgres:
                new_keys = self._run_postgres(
                    _chunks([row for waiter in batch for row in waiter.encoded]))
            else:
                new_keys = self._run_sqlite(
                    _chunks([row for waiter in batch for row in waiter.rows]))
        except BaseException as exc:
            for waiter in batch:
                waiter.fail(exc)
            return
        for waiter in batch:
            # A key inserted once is credited once, even if two requests (or one
            # request twice) carried it.
            fresh = {row[KEY] for row in waiter.rows} & new_keys
            new_keys -= fresh
            waiter.succeed(len(fresh))

    def _sql(self, rows: int) -> str:
        sql = self.statements.get(rows)
        if sql is None:
            width = len(COLUMNS)
            if self.postgres:
                marks = ["(" + ", ".join(f"${row * width + column + 1}"
                                         for column in range(width)) + ")"
                         for row in range(rows)]
            else:
                marks = ["(" + ", ".join("?" for _ in COLUMNS) + ")"] * rows
            sql = self.statements[rows] = (
                "INSERT INTO accepted_events (" + ", ".join(COLUMNS) + ") VALUES "
                + ", ".join(marks) + " ON CONFLICT (event_key) DO NOTHING RETURNING event_key")
        return sql

    def _run_postgres(self, chunks: list[list[tuple[bytes, ...]]]) -> set[str]:
        if self.pg_conn is None or self.pg_conn.closed:
            # Autocommit: a single statement is its own transaction.
            self.pg_conn = psycopg.connect(self.conninfo, autocommit=True)
            # The 200 promises the events are on disk, whatever the server's
            # default: a commit returns only once its WAL is written. (Commits
            # left to the WAL writer are also slower here: each one wakes it.)
            self.pg_conn.execute("SET synchronous_commit = on")
            self.prepared = set()
        pgconn = self.pg_conn.pgconn
        keys: set[str] = set()
        try:
            if len(chunks) == 1:
                return self._insert_prepared(pgconn, chunks[0])
            _check(pgconn, pgconn.exec_(b"BEGIN"))
            try:
                for chunk in chunks:
                    keys |= self._insert_prepared(pgconn, chunk)
                _check(pgconn, pgconn.exec_(b"COMMIT"))
            except BaseException:
                if pgconn.status == pq.ConnStatus.OK:
                    pgconn.exec_(b"ROLLBACK")
                raise
            return keys
        finally:
            if pgconn.status != pq.ConnStatus.OK:
                self.pg_conn.close()

    def _insert_prepared(self, pgconn: Any, chunk: list[tuple[bytes, ...]]) -> set[str]:
        name = f"accept_{len(chunk)}".encode()
        if len(chunk) not in self.prepared:
            _check(pgconn, pgconn.prepare(name, self._sql(len(chunk)).encode()))
            self.prepared.add(len(chunk))
        result = _check(pgconn, pgconn.exec_prepared(
            name, [value for row in chunk for value in row]))
        return {bytes(result.get_value(row, 0) or b"").decode()
                for row in range(result.ntuples)}

    def _run_sqlite(self, chunks: list[list[Row]]) -> set[str]:
        with self.sqlite_lock:
            return self._insert_sqlite(chunks)

    def _insert_sqlite(self, chunks: list[list[Row]]) -> set[str]:
        conn = self._sqlite()
        keys: set[str] = set()
        statements = [(self._sql(len(chunk)), [value for row in chunk for value in row])
                      for chunk in chunks]
        # A file lock as for the engine's writers (db.engine): queue, don't poll.
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            if len(statements) == 1:
                # One statement is its own transaction: no BEGIN and COMMIT to send.
                sql, params = statements[0]
                return {row[0] for row in conn.execute(sql, params).fetchall()}
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    keys |= {row[0] for row in conn.execute(sql, params).fetchall()}
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
            self.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(INBOX_SCHEMA)
            finally:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
            # As in db.engine: WAL (set on the file) with NORMAL sync, so a commit
            # is a write, not an fsync; durable across a crash of the process.
            conn.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint copies the WAL into the database and syncs both: too
            # slow for a webhook to wait on. A background thread does it instead.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            _Checkpointer(self.path).start()
            self.sqlite_conn = conn
        return self.sqlite_conn


class _Checkpointer(threading.Thread):
    """Checkpoints the WAL every little while, so it stays small without a worker."""

    INTERVAL = 1.0

    def __init__(self, path: str) -> None:
        super().__init__(name="sqlite-checkpoint", daemon=True)
        self.path = path

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        while True:
            time.sleep(self.INTERVAL)
            try:
                # PASSIVE never blocks the writers; the next commit after a
                # complete one starts the WAL file over.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                log.warning("WAL checkpoint failed: %s", exc)


def _chunks(rows: list[Any]) -> list[list[Any]]:
    return [rows[start:start + MAX_STATEMENT_ROWS]
            for start in range(0, len(rows), MAX_STATEMENT_ROWS)]


def _encoded(rows: list[Row]) -> list[tuple[bytes, ...]]:
    """The rows as libpq's text parameters; BadValue for what PostgreSQL refuses."""
    encoded = []
    for row in rows:
        values = []
        for value in row:
            text = str(value)
            try:
                data = text.encode()
            except UnicodeEncodeError:
                raise BadValue("text that is not valid Unicode") from None
            if b"\0" in data:
                raise BadValue("a NUL character")
            values.append(data)
        encoded.append(tuple(values))
    return encoded


def _check(pgconn: Any, result: Any) -> Any:
    """The result if the statement succeeded; else psycopg's exception for it."""
    if result.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        return result
    if pgconn.status != pq.ConnStatus.OK:
        raise psycopg.OperationalError(pgconn.get_error_message())
    raise psycopg.errors.error_from_result(result)


class _Waiter:
    """One request's rows, and what became of them."""

    def __init__(self, rows: list[Row], encoded: list[tuple[bytes, ...]]) -> None:
        self.rows = rows
        self.encoded = encoded
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

