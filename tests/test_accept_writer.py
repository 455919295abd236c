"""db.accept: the webhook's grouped write, on whichever database the suite runs."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select, text

from bot.relay.store import drain_accepted
from bot.runtime import Runtime
from db import accept
from db.accept import AcceptWriter, BadValue
from db.engine import make_engine
from db.migrate import upgrade
from db.models import AcceptedEvent, OutboxItem
from tests.conftest import PG_URL


def _row(key: str, body: str = "{}") -> accept.Row:
    return (1, key, "ingest:line:U1", body)


def _stored(url: str) -> list[str]:
    """Event keys waiting for the worker, wherever this database keeps them."""
    if not PG_URL:
        return [row.event_key for row in AcceptWriter(url).waiting(1000)]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(AcceptedEvent.event_key).order_by(AcceptedEvent.id)))
    finally:
        engine.dispose()


def test_racing_requests_with_shared_keys_are_credited_once(database_url: str) -> None:
    writer = AcceptWriter(database_url)
    counts: list[int] = []
    start = threading.Barrier(40)

    def request(n: int) -> None:
        # Every request carries its own key, a key shared by all, and one of
        # five keys shared in part, that one twice in the same request.
        part = f"event:part:{n % 5}"
        start.wait()
        counts.append(writer.insert([_row(f"event:own:{n}"), _row("event:all"),
                                     _row(part), _row(part)]))

    threads = [threading.Thread(target=request, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 40 + 1 + 5
    assert sorted(_stored(database_url)) == sorted(
        [f"event:own:{n}" for n in range(40)] + ["event:all"]
        + [f"event:part:{n}" for n in range(5)])
    # A redelivery of all of it is all duplicates.
    assert writer.insert([_row("event:all"), _row("event:own:7")]) == 0


def test_a_group_bigger_than_one_statement_commits_together(
    database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(accept, "MAX_STATEMENT_ROWS", 3)
    writer = AcceptWriter(database_url)
    rows = [_row(f"event:{n}", f'{{"n": {n}, "text": "สวัสดี 😀"}}') for n in range(8)]
    assert writer.insert(rows) == 8
    assert _stored(database_url) == [f"event:{n}" for n in range(8)]
    # Two statements of three and one of two again: all known now.
    assert writer.insert([*rows[:3], _row("event:new"), *rows[3:]]) == 1


def test_a_value_no_database_stores_is_refused_before_the_group(database_url: str) -> None:
    writer = AcceptWriter(database_url)
    with pytest.raises(BadValue, match="NUL"):
        writer.insert([_row("event:ok"), _row("event:\x00")])
    with pytest.raises(BadValue, match="Unicode"):
        writer.insert([_row("event:ok", '{"text": "\ud800"}')])
    assert _stored(database_url) == []
    assert writer.insert([_row("event:ok")]) == 1


@pytest.mark.skipif(not PG_URL, reason="a lost server connection is PostgreSQL's")
def test_a_lost_connection_fails_one_request_and_the_next_reconnects(
    database_url: str,
) -> None:
    writer = AcceptWriter(database_url)
    assert writer.insert([_row("event:1")]) == 1
    assert writer.pg_conn is not None
    pid = writer.pg_conn.info.backend_pid
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    engine.dispose()
    with pytest.raises(psycopg.OperationalError):
        writer.insert([_row("event:2")])
    assert writer.insert([_row("event:2"), _row("event:1")]) == 1
    assert _stored(database_url) == ["event:1", "event:2"]


@pytest.mark.skipif(not PG_URL, reason="commit modes are PostgreSQL's")
def test_an_acknowledged_event_is_on_disk_even_where_commits_are_asynchronous(
    database_url: str,
) -> None:
    # The suite's server leaves commits to the WAL writer (up to 0.6 s of them
    # lost in a crash); what a webhook acknowledged must not be among them.
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SHOW synchronous_commit")) == "off"
    engine.dispose()
    writer = AcceptWriter(database_url)
    assert writer.insert([_row("event:1")]) == 1
    assert writer.pg_conn is not None
    assert writer.pg_conn.execute("SHOW synchronous_commit").fetchone() == ("on",)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's inbox file; PostgreSQL moves in one transaction")
def test_a_crash_between_moving_and_forgetting_moves_each_event_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = runtime.accept_writer
    shop = runtime.shop_id
    assert writer.insert([(shop, "event:line:a", "ingest:line:U1", "{}"),
                          (shop, "event:line:b", "ingest:line:U2", "{}")]) == 2

    def crash(ids: list[int]) -> None:
        raise KeyboardInterrupt("the worker stopped before forgetting")

    monkeypatch.setattr(writer, "forget", crash)
    with pytest.raises(KeyboardInterrupt):
        drain_accepted(runtime)
    monkeypatch.undo()
    assert drain_accepted(runtime) == 2  # read again; the outbox already had them
    assert writer.waiting(10) == []
    with runtime.sessions() as session:
        keys = session.scalars(select(OutboxItem.idempotency_key)
                               .where(OutboxItem.kind == "route_event")).all()
    assert sorted(keys) == ["event:line:a", "event:line:b"]


@pytest.mark.skipif(bool(PG_URL), reason="only SQLite's accepted events moved to a file")
def test_the_upgrade_moves_events_left_in_the_old_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0015")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO shops (id, name, created_at)"
                          " VALUES (1, 'Shop', '2026-12-01 10:00:00')"))
        conn.execute(text(
            "INSERT INTO accepted_events (shop_id, event_key, lane, payload) VALUES"
            " (1, 'event:line:old', 'ingest:line:U1', '{\"event\": {\"text\": \"สวัสดี\"}}')"))
    upgrade(url)
    with engine.connect() as conn:
        moved = conn.execute(select(OutboxItem.idempotency_key, OutboxItem.payload,
                                    OutboxItem.status)).all()
        left = conn.execute(select(AcceptedEvent.id)).all()
    engine.dispose()
    assert moved == [("event:line:old", {"event": {"text": "สวัสดี"}}, "pending")]
    assert left == []
