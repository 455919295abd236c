"""Engines and sessions, the same code for SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Insert

T = TypeVar("T")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"timeout": 30})
        lock_path = _sqlite_lock_path(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        if lock_path is not None:
            event.listen(engine, "connect", lambda dbapi_conn, record: _open_lock(record,
                                                                               lock_path))
            event.listen(engine.pool, "checkin", _release_lock)
        # pysqlite's own transaction handling defers BEGIN and breaks
        # SAVEPOINT; emit BEGIN IMMEDIATE ourselves so writers queue up
        # instead of failing with "database is locked".
        event.listen(engine, "begin", _begin_immediate)
        return engine
    # No pre-ping: it costs a round trip on every checkout of the webhook's hot
    # path; connections are recycled instead, and a dead one fails one request.
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_lock_path(url: str) -> str | None:
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path + ".lock"


def _open_lock(record: Any, lock_path: str) -> None:
    record.info["lock_fd"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)


def _begin_immediate(conn: Connection) -> None:
    # SQLite's busy handler sleeps in growing steps (up to 100 ms) while another
    # writer holds the lock, which wrecks latency when web threads, gunicorn
    # workers and the worker write at once. Queue writers on a file lock
    # instead: the kernel wakes the next one the moment the lock is free.
    fd = conn.connection.info.get("lock_fd") if conn.connection is not None else None
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _release_lock(_dbapi_conn: Any, record: Any) -> None:
    """The transaction has ended when its connection goes back to the pool."""
    fd = record.info.get("lock_fd")
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets the web process read while the worker writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def insert_ignoring_conflicts(target: Session | Connection, model: Any) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING in the dialect of a session or connection."""
    name = (target.dialect if isinstance(target, Connection) else target.get_bind().dialect).name
    if name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {name}")


def insert_if_absent(session: Session | Connection, model: Any, **values: Any) -> int | None:
    """Insert a row unless a unique key is taken. The new id, or None.

    RETURNING tells the two apart on both databases (psycopg reports no
    rowcount for an INSERT that returns rows).
    """
    dialect = (session.dialect if isinstance(session, Connection)
               else session.get_bind().dialect).name
    key = (dialect, model, tuple(sorted(values)))
    stmt = _INSERTS.get(key)
    if stmt is None:
        # On the table, built once per shape, values as parameters: an ORM insert
        # with inline values was rebuilt and re-keyed on every call, and cost a
        # live sale's worker more than the database did.
        table = model.__table__
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = _INSERTS[key] = dialect_insert(table).on_conflict_do_nothing().returning(
            table.c.id)
    return session.execute(stmt, values).scalar_one_or_none()


_INSERTS: dict[tuple[str, Any, tuple[str, ...]], Insert] = {}


MEMO = "shoprelay.memo"


def memo(session: Session, key: Hashable, make: Callable[[], T]) -> T:
    """A value looked up once per transaction (settings, codes…): a live sale's batch of
    comments asked the same questions hundreds of times. Forgotten on any rollback."""
    cache: dict[Hashable, Any] = session.info.setdefault(MEMO, {})
    if key not in cache:
        cache[key] = make()
    found: T = cache[key]
    return found


def memo_found(session: Session, key: Hashable) -> Any:
    """What this transaction's memo holds under `key`; None when nothing."""
    return session.info.get(MEMO, {}).get(key)


def memo_put(session: Session, values: Mapping[Hashable, Any]) -> None:
    """Values a look-up for many rows found, for `memo` and `memo_found` to answer from
    in the rest of the transaction. Forgotten on any rollback."""
    session.info.setdefault(MEMO, {}).update(values)


KNOWN = "shoprelay.known"
_AFTER_COMMIT = "shoprelay.after_commit"


class KnownRows:
    """Unique keys of rows that are never deleted, known to exist: shared by a
    process's sessions (put in their sessionmaker's info under KNOWN), so a
    guard asked again and again (one private reply per customer and live) stops
    costing a statement. A key is learnt only once its transaction commits."""

    LIMIT = 100_000  # then start over: a cache, not a record

    def __init__(self) -> None:
        self.keys: set[Hashable] = set()

    def __contains__(self, key: Hashable) -> bool:
        return key in self.keys

    def learn_on_commit(self, session: Session, key: Hashable) -> None:
        session.info.setdefault(_AFTER_COMMIT, []).append(key)

    def _learn(self, keys: list[Hashable]) -> None:
        if len(self.keys) > self.LIMIT:
            self.keys.clear()
        self.keys.update(keys)


def known_rows(session: Session) -> KnownRows | None:
    known: KnownRows | None = session.info.get(KNOWN)
    return known


@event.listens_for(Session, "after_commit")
def _learn_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its transaction may still roll back
    keys = session.info.pop(_AFTER_COMMIT, None)
    known = known_rows(session)
    if keys and known is not None:
        known._learn(keys)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    session.info.pop(MEMO, None)
    # Even a savepoint's: what it inserted is gone, and which keys were its is not kept.
    session.info.pop(_AFTER_COMMIT, None)
