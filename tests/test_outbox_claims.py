"""The outbox: order per lane, leases, idempotency, and several workers at once."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.relay import outbox
from bot.relay.worker import SoleSender
from bot.runtime import Runtime
from db.models import OutboxItem, utcnow


def _add(runtime: Runtime, lane: str, n: int) -> None:
    shop_id = runtime.shop_id
    with runtime.transaction() as session:
        outbox.enqueue(session, shop_id=shop_id, destination="line", kind="k",
                       payload={"n": n}, idempotency_key=f"{lane}:{n}", lane=lane)


def _claim(runtime: Runtime, owner: str, limit: int = 10) -> list[outbox.Claimed]:
    with runtime.transaction() as session:
        return outbox.claim(session, owner=owner, destinations=("line",), limit=limit)


def test_the_same_idempotency_key_is_enqueued_once(runtime: Runtime) -> None:
    _add(runtime, "a", 1)
    _add(runtime, "a", 1)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 1


def test_kinds_named_first_go_before_older_rows_of_their_destination(
    runtime: Runtime,
) -> None:
    with runtime.transaction() as session:
        for n, kind in enumerate(("relay", "relay", "cf_digest")):
            outbox.enqueue(session, shop_id=runtime.shop_id, destination="telegram", kind=kind,
                           payload={}, idempotency_key=f"t:{n}", lane=f"telegram:{n}")
    with runtime.transaction() as session:
        (plain,) = outbox.claim(session, owner="a", destinations=("telegram",))
        (digest,) = outbox.claim(session, owner="b", destinations=("telegram",),
                                 first=("cf_digest",))
        (then,) = outbox.claim(session, owner="c", destinations=("telegram",),
                               first=("cf_digest",))  # none left of that kind: the rest
    assert (plain.kind, digest.kind, then.kind) == ("relay", "cf_digest", "relay")


def test_a_lane_is_delivered_in_order_and_lanes_in_parallel(runtime: Runtime) -> None:
    for n in range(3):
        _add(runtime, "a", n)
        _add(runtime, "b", n)
    first = _claim(runtime, "w1")
    assert sorted(c.payload["n"] for c in first) == [0, 0]  # one head per lane
    assert _claim(runtime, "w2") == []  # the rest wait behind their heads
    with runtime.transaction() as session:
        outbox.complete(session, first[0].id, "w1")
    second = _claim(runtime, "w2")
    assert [c.payload["n"] for c in second] == [1]


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(runtime: Runtime) -> None:
    _add(runtime, "a", 0)
    (item,) = _claim(runtime, "dead")
    assert _claim(runtime, "other") == []
    later = utcnow() + outbox.LEASE + timedelta(seconds=1)
    with runtime.transaction() as session:
        taken = outbox.claim(session, owner="other", destinations=("line",), now=later)
    assert [t.id for t in taken] == [item.id]
    with runtime.transaction() as session:
        outbox.complete(session, item.id, "dead")  # the old owner may not finish it
    with runtime.sessions() as session:
        assert session.get_one(OutboxItem, item.id).status == "sending"


def test_retries_back_off_honour_retry_after_and_give_up(runtime: Runtime) -> None:
    _add(runtime, "a", 0)
    (item,) = _claim(runtime, "w")
    with runtime.transaction() as session:
        assert outbox.retry_later(session, item.id, "w", 1, "busy", retry_after=30)
    with runtime.sessions() as session:
        row = session.get_one(OutboxItem, item.id)
    assert row.status == "pending" and row.next_attempt_at >= utcnow() + timedelta(seconds=29)
    row_now = utcnow() + timedelta(hours=1)
    with runtime.transaction() as session:
        (again,) = outbox.claim(session, owner="w", destinations=("line",), now=row_now)
        assert not outbox.retry_later(session, again.id, "w", outbox.MAX_ATTEMPTS, "still busy")
    with runtime.sessions() as session:
        assert session.get_one(OutboxItem, item.id).status == "failed"


@given(st.integers(min_value=1, max_value=40))
def test_backoff_grows_and_is_capped(attempts: int) -> None:
    delay = outbox.backoff_seconds(attempts)
    assert 0 < delay <= outbox.BACKOFF_CAP
    if attempts > 1:
        assert outbox.backoff_seconds(attempts) >= outbox.backoff_seconds(1) / 2


def _show(session: Session, shop_id: int, order_id: int, change: int) -> bool:
    return outbox.enqueue_coalesced(
        session, shop_id=shop_id, destination="line", kind="show",
        payload={"order_id": order_id}, idempotency_key=f"show:{order_id}:{change}",
        lane=f"line:order:{order_id}")


def test_changes_while_a_rendering_job_waits_share_it_and_a_started_one_gets_a_next(
    runtime: Runtime,
) -> None:
    shop_id = runtime.shop_id
    added = []
    for change in range(3):  # an order changed three times before its message is sent
        with runtime.transaction() as session:
            added.append(_show(session, shop_id, 7, change))
    with runtime.transaction() as session:
        added.append(_show(session, shop_id, 8, 0))  # another order: a job of its own
    assert added == [True, False, False, True]
    (started, _other) = _claim(runtime, "w1")
    with runtime.transaction() as session:
        # The job may already have read the order: this change needs one more.
        assert _show(session, shop_id, 7, 3)
        assert not _show(session, shop_id, 7, 4)
    assert started.payload == {"order_id": 7}
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.lane == "line:order:7")) == 2


@pytest.mark.skipif(not os.environ.get("SHOPRELAY_TEST_DATABASE_URL"),
                    reason="only PostgreSQL lets a claim run beside a writing transaction")
def test_a_waiting_job_is_not_started_while_a_change_it_will_show_is_being_made(
    runtime: Runtime,
) -> None:
    shop_id = runtime.shop_id
    with runtime.transaction() as session:
        _show(session, shop_id, 7, 0)
    with runtime.transaction() as changing:
        assert not _show(changing, shop_id, 7, 1)
        # Started now, the job would render the order without this change.
        assert _claim(runtime, "w1") == []
    assert [c.payload for c in _claim(runtime, "w1")] == [{"order_id": 7}]


@pytest.mark.skipif(not os.environ.get("SHOPRELAY_TEST_DATABASE_URL"),
                    reason="several workers at once is a PostgreSQL deployment")
def test_several_workers_never_take_the_same_row_and_keep_lane_order(runtime: Runtime) -> None:
    lanes, per_lane = 20, 10
    shop_id = runtime.shop_id
    with runtime.transaction() as session:
        for n in range(per_lane):
            for lane in range(lanes):
                outbox.enqueue(session, shop_id=shop_id, destination="line", kind="k",
                               payload={"lane": lane, "n": n},
                               idempotency_key=f"{lane}:{n}", lane=f"lane-{lane}")
    delivered: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(owner: str) -> None:
        idle = 0
        while idle < 20:
            claimed = _claim(runtime, owner, limit=3)
            if not claimed:
                idle += 1
                continue
            idle = 0
            for item in claimed:
                with lock:
                    delivered.append((item.payload["lane"], item.payload["n"]))
                with runtime.transaction() as session:
                    outbox.complete(session, item.id, owner)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(delivered) == lanes * per_lane == len(set(delivered))
    for lane in range(lanes):
        assert [n for (l_, n) in delivered if l_ == lane] == list(range(per_lane))


@pytest.mark.skipif(not os.environ.get("SHOPRELAY_TEST_DATABASE_URL"),
                    reason="several worker processes are a PostgreSQL deployment")
def test_one_worker_process_at_a_time_writes_into_the_admin_chat(runtime: Runtime) -> None:
    # Telegram's group limit is kept by one pacer: two processes sending drew 429s.
    first, second = SoleSender(runtime), SoleSender(runtime)
    try:
        assert first.held() and first.held()
        assert not second.held()
        first.release()  # its process stopped (or its connection was lost)
        assert second.held()
        assert not first.held()
    finally:
        first.release()
        second.release()
