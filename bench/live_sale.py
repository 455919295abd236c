"""The live sale of bench/live_burst.py: catalogue, comments, and what should come of them.

`make_comments` writes a Facebook live's comments (CF orders in the shapes Thai
shoppers type, cancellations, questions) with a schedule and a few redeliveries.
`expected` is the benchmark's own model of the automated invoices: comments in
written order, the earliest writer gets the last unit, the same code again sets the
new quantity, a wish for a sold-out code joins that code's waiting list, "ยกเลิก"
cancels the customer's automatic order and its units go to the waiting lists (first
asked, first served), questions are no orders. `check` reads the database with plain
SQL and compares.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import sqlite3
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine, text

from db.accept import inbox_path

PAGE_ID = "108234567890123"
POST = "1098765432109876"
POST_ID = f"{PAGE_ID}_{POST}"
CODES = [f"A{n:02d}" for n in range(1, 21)]
# Units in stock per code at 1,000 customers (scaled with the customer count): the
# first five sell out within seconds, the middle ten during the live, the rest never.
STOCK = {code: 10 if n < 5 else 60 if n < 15 else 2000 for n, code in enumerate(CODES)}
PRICE_SATANG = {code: 19000 + 1000 * n for n, code in enumerate(CODES)}
MAX_QTY = 10  # the default of auto_settings.max_qty: more is left to the admins

NAMES = ["Fon", "Beam", "Ploy", "Nok", "Ton", "Mint", "Praew", "Bow", "Fah", "Aom", "Kwan",
         "Noon", "Pim", "Jane", "Gift", "Mook", "Tarn", "Ice", "May", "Dao"]
SURNAMES = ["Srisuk", "Chaiyaporn", "Wongsawat", "Kittisak", "Boonmee", "Saetang",
            "Rattanakorn", "Thongdee"]
QUESTIONS = ["{c} ราคาเท่าไหร่", "{c} มีสีอื่นไหมคะ", "ส่งฟรีไหมคะ?", "{c} ยาวกี่เซนคะ?",
             "{c} ผ้าอะไรคะ ยืดไหม", "โอนแล้วส่งวันไหนคะ?"]


@dataclass
class Comment:
    """One comment of the live, as the benchmark means it."""

    seq: int
    comment_id: str
    author: str  # the commenter's id in the feed webhook
    psid: str  # their Messenger id (what a private reply lands with)
    name: str
    text: str
    intent: str  # order | cancel | question
    items: tuple[tuple[str, int], ...]
    due: float  # seconds after the start of sending
    burst: bool
    redeliver_at: float | None  # also sent again (the same body) this long after start
    created_time: int = 0  # set when first sent: the webhook's created_time
    body: bytes = b""
    signature: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sign(self, secret: str, created_time: int) -> None:
        """Build the webhook body once (a redelivery sends the very same bytes)."""
        self.created_time = created_time
        value = {"from": {"id": self.author, "name": self.name},
                 "post": {"status_type": "added_video", "id": POST_ID},
                 "message": self.text, "post_id": POST_ID, "comment_id": self.comment_id,
                 "created_time": created_time, "item": "comment", "parent_id": POST_ID,
                 "verb": "add"}
        body = {"object": "page", "entry": [{"id": PAGE_ID, "time": created_time,
                                              "changes": [{"value": value, "field": "feed"}]}]}
        # Meta escapes non-ASCII as \\uXXXX and signs exactly those bytes.
        self.body = json.dumps(body).encode()
        self.signature = "sha256=" + hmac.new(secret.encode(), self.body,
                                              hashlib.sha256).hexdigest()


def stock_for(customers: int) -> dict[str, int]:
    scale = customers / 1000
    return {code: max(1, round(units * scale)) for code, units in STOCK.items()}


def _order_text(rng: random.Random, items: list[tuple[str, int]]) -> str:
    (code, qty), *more = items
    if more:
        return f"CF {code} {qty} " + " ".join(f"{c} {q}" for c, q in more)
    if qty == 1:
        return rng.choice([f"cf {code.lower()}", f"CF {code}", f"F {code} 1 ค่ะ",
                           f"CF {code} 1", f"cf {code} ค่ะ"])
    return rng.choice([f"CF {code} {qty}", f"F {code} {qty} ค่ะ", f"cf {code.lower()} {qty}",
                       f"CF {code} {qty} นะคะ"])


def make_comments(count: int, customers: int, duration: float, *, seed: int,
                  burst_share: float = 0.2, redeliver_share: float = 0.03) -> list[Comment]:
    """`count` comments by `customers` people over `duration` seconds.

    Most arrive spread over the live; `burst_share` of them arrive all at once at 40 %
    of it (the host shows a hot item: "CF now!"), mostly for one low-stock code.
    Every customer comments at least once; a few comment a lot.
    """
    rng = random.Random(seed)
    people = [(f"{7100000000000000 + n}", f"{2460000000000000 + n}",
               f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}") for n in range(customers)]
    weights = [1 / (n + 1) ** 0.7 for n in range(customers)]
    who = list(range(customers)) + rng.choices(range(customers), weights, k=count - customers)
    rng.shuffle(who)
    popularity = [1 / (n + 1) ** 0.6 for n in range(len(CODES))]
    bursts = set(rng.sample(range(count), int(count * burst_share)))
    flash = CODES[2]
    comments = []
    for seq, person in enumerate(who):
        author, psid, name = people[person]
        burst = seq in bursts
        roll = rng.random()
        items: tuple[tuple[str, int], ...]
        if roll < 0.07 and not burst:
            code = rng.choices(CODES, popularity)[0]
            intent, items, body = "question", (), rng.choice(QUESTIONS).format(c=code)
        elif roll < 0.10 and not burst:
            intent, items, body = "cancel", (), "ยกเลิก"
        else:
            first = flash if burst and rng.random() < 0.8 else rng.choices(CODES, popularity)[0]
            wanted = [(first, rng.choices([1, 2, 3, 5], [60, 25, 10, 5])[0])]
            if rng.random() < 0.1:
                other = rng.choice([c for c in CODES if c != first])
                wanted.append((other, rng.choice([1, 2])))
            intent, items, body = "order", tuple(wanted), _order_text(rng, wanted)
        due = duration * 0.4 if burst else rng.uniform(0, duration)
        # Meta redelivers a few seconds later (within the live, so the offered rate holds).
        redeliver = min(duration, due + rng.uniform(0.5, 5.0)) \
            if rng.random() < redeliver_share else None
        comments.append(Comment(seq, f"{POST}_{2156484515000000 + seq}", author, psid, name,
                                body, intent, items, due, burst, redeliver))
    return comments


# --------------------------------------------------------------------------- the model

@dataclass
class Expected:
    """What the automated invoices should have made of the comments."""

    # Per commenter, their automatic orders in the order opened: (open|canceled, {code: qty}).
    orders: dict[str, list[tuple[str, dict[str, int]]]]
    reserved: dict[str, int]
    told_privately: set[str]  # commenters who get the one private reply
    sold_out_replies: int  # customers answered "sold out" in public (once each on the post)
    waitlisted: int  # (comment, code) pairs put on a waiting list
    served_from_waitlist: int  # waiting-list entries filled by cancelled units


def expected(comments: list[Comment], stock: dict[str, int]) -> Expected:
    """Apply order and cancel comments in the given order, with the shop's stock rules."""
    reserved = dict.fromkeys(stock, 0)
    orders: dict[str, list[tuple[str, dict[str, int]]]] = defaultdict(list)
    open_of: dict[str, dict[str, int]] = {}
    told: set[str] = set()
    waiting: dict[str, list[list[Any]]] = defaultdict(list)  # code -> [[who, qty, filled]]
    sold_out_replies = waitlisted = served = 0
    answered_sold_out: set[str] = set()

    def add(who: str, code: str, units: int) -> None:
        lines = open_of.get(who)
        if lines is None:
            lines = open_of[who] = {}
            orders[who].append(("open", lines))
        lines[code] = lines.get(code, 0) + units
        reserved[code] += units

    for comment in comments:
        who = comment.author
        if comment.intent == "cancel":
            lines = open_of.pop(who, None)
            if lines is not None:
                for code, qty in lines.items():
                    reserved[code] -= qty
                orders[who][-1] = ("canceled", lines)
                told.add(who)
                for code in lines:  # freed units: the waiting list, in the order asked
                    for entry in waiting[code]:
                        left = stock[code] - reserved[code]
                        if left <= 0:
                            break
                        if entry[2]:
                            continue
                        add(entry[0], code, min(entry[1], left))
                        entry[2] = True
                        served += 1
            continue
        if comment.intent != "order":
            continue
        lines = open_of.get(who)
        changed = sold_out = False
        for code, qty in comment.items:
            have = lines.get(code, 0) if lines is not None else 0
            wanted = qty - have if have else qty
            if wanted <= 0:
                if wanted < 0:
                    assert lines is not None
                    lines[code] = qty
                    reserved[code] += wanted
                changed = True
                continue
            got = min(wanted, stock[code] - reserved[code])
            if got <= 0:
                sold_out = True
                waitlisted += 1
                waiting[code].append([who, wanted, False])
                continue
            add(who, code, got)
            lines = open_of[who]
            changed = True
        if sold_out and who not in answered_sold_out:  # once per customer and post
            answered_sold_out.add(who)
            sold_out_replies += 1
        if changed and lines is not None:
            told.add(who)
    return Expected(dict(orders), reserved, told, sold_out_replies, waitlisted, served)


# --------------------------------------------------------------------------- the database

def postgres_url() -> str:
    """The throwaway server of tests/tools/with_postgres.sh, through its socket when
    it tells one: as a server on the same machine is reached."""
    return (os.environ.get("SHOPRELAY_TEST_DATABASE_SOCKET_URL")
            or os.environ["SHOPRELAY_TEST_DATABASE_URL"])


def waiting_keys(engine: Engine) -> list[str]:
    """Event keys a webhook accepted that the worker has not taken yet: in the
    accepted_events table on PostgreSQL, in the inbox file beside SQLite's."""
    path = inbox_path(engine.url.render_as_string(hide_password=False))
    if path is None:
        with engine.connect() as conn:
            return list(conn.scalars(text("SELECT event_key FROM accepted_events")))
    if not os.path.exists(path):
        return []
    inbox = sqlite3.connect(path)
    try:
        return [key for (key,) in inbox.execute("SELECT event_key FROM accepted_events")]
    finally:
        inbox.close()


def quiet(engine: Engine) -> dict[str, int]:
    """What is still on its way to being applied."""
    with engine.connect() as conn:
        routing, pending, applied, available, reserved = conn.execute(text(
            "SELECT (SELECT count(*) FROM outbox WHERE kind = 'route_event'"
            "   AND status IN ('pending', 'sending')),"
            " (SELECT count(*) FROM cf_comments WHERE status = 'pending'),"
            " (SELECT count(*) FROM cf_comments WHERE status <> 'pending'),"
            " (SELECT min(stock - reserved) FROM products),"
            " (SELECT min(reserved) FROM products)")).one()
    return {"accepted": len(waiting_keys(engine)), "routing": routing, "pending": pending,
            "applied": applied, "min_available": available if available is not None else 0,
            "min_reserved": reserved if reserved is not None else 0}


def outbox_backlog(engine: Engine) -> dict[str, int]:
    """Outbox rows not done, by destination, kind and status."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT destination, kind, status, count(*) FROM outbox"
            " WHERE status <> 'done' GROUP BY destination, kind, status")).all()
    return {f"{d}/{k}/{s}": n for d, k, s, n in rows}


def customer_queue(engine: Engine) -> int:
    """Sends to customers (private and public replies) not yet made."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM outbox WHERE kind = 'send_to_customer'"
            " AND status IN ('pending', 'sending')")).scalar_one())


def application_order(engine: Engine, comments: list[Comment]) -> list[Comment]:
    """Order and cancel comments by written time; within one second (the webhook's
    created_time has no finer grain) by arrival, which is the cf_comments row id."""
    with engine.connect() as conn:
        ids: dict[str, int] = dict(conn.execute(text(
            "SELECT comment_id, id FROM cf_comments")).all())
    never = 10**15
    return sorted((c for c in comments if c.intent in ("order", "cancel")),
                  key=lambda c: (c.created_time, ids.get(c.comment_id, never + c.seq)))


def check(engine: Engine, comments: list[Comment], stock: dict[str, int]) -> dict[str, Any]:
    """Compare the database with the model; every figure the report needs."""
    sent = [c for c in comments if c.created_time]
    model = expected(application_order(engine, sent), stock)
    with engine.connect() as conn:
        cf: dict[str, tuple[str, Any, int]] = {}
        for cid, status, parsed in conn.execute(text(
                "SELECT comment_id, status, parsed FROM cf_comments ORDER BY id")).all():
            count = cf[cid][2] + 1 if cid in cf else 1
            cf[cid] = (status, parsed, count)
        stored: dict[str, int] = dict(conn.execute(text(
            "SELECT platform_message_id, count(*) FROM messages WHERE direction = 'in'"
            " AND channel = 'facebook_comment' GROUP BY platform_message_id")).all())
        author_of: dict[int, str] = dict(conn.execute(text(
            "SELECT customer_id, external_id FROM identities"
            " WHERE channel = 'facebook_comment'")).all())
        lines: dict[int, dict[str, int]] = defaultdict(dict)
        for order_id, code, qty in conn.execute(text(
                "SELECT order_id, code, qty FROM order_lines")).all():
            lines[order_id][code] = qty
        db_orders: dict[str, list[tuple[str, dict[str, int]]]] = defaultdict(list)
        for order_id, customer_id, status in conn.execute(text(
                "SELECT id, customer_id, status FROM orders WHERE source = 'comment'"
                " ORDER BY id")).all():
            state = "canceled" if status == "canceled" else "open"
            db_orders[author_of.get(customer_id, f"customer {customer_id}")].append(
                (state, lines.get(order_id, {})))
        products = {code: (st, res) for code, st, res in conn.execute(text(
            "SELECT code, stock, reserved FROM products")).all()}
        open_lines: dict[str, int] = dict(conn.execute(text(
            "SELECT l.code, sum(l.qty) FROM order_lines l JOIN orders o ON o.id = l.order_id"
            " WHERE o.status IN ('draft', 'awaiting_payment') GROUP BY l.code")).all())
        waitlisted = conn.execute(text("SELECT count(*) FROM waitlist")).scalar_one()
        filled = conn.execute(text(
            "SELECT count(*) FROM waitlist WHERE status = 'filled'")).scalar_one()
        waitlisted_twice = conn.execute(text(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM waitlist"
            " GROUP BY cf_comment_id, product_id) AS per_comment")).scalar_one()
        # Events accepted by a webhook but not routed yet: late, not lost.
        queued = {key.rsplit(":", 1)[-1] for key in [*waiting_keys(engine), *conn.scalars(text(
            "SELECT idempotency_key FROM outbox"
            " WHERE kind = 'route_event' AND status IN ('pending', 'sending')"))]}
        statuses: Counter[str] = Counter(dict(conn.execute(text(
            "SELECT status, count(*) FROM cf_comments GROUP BY status")).all()))

    correct, total, customers_right, wrong = compare(model.orders, db_orders)
    # The same rules over the comments as the application read them (cf_comments.parsed):
    # equal here but not above means the reading differs, not the allocation.
    as_read = []
    for c in application_order(engine, sent):
        row = cf.get(c.comment_id)
        if row is None or row[0] != "applied":
            continue
        parsed = row[1] if isinstance(row[1], dict) else json.loads(row[1])
        kind = parsed.get("kind")
        if kind in ("order", "cancel"):
            as_read.append(replace(c, intent=kind, items=tuple(
                (code, qty) for code, qty, *_ in parsed.get("items", []))))
    read_correct, read_total, _, _ = compare(expected(as_read, stock).orders, db_orders)

    lost, not_captured, questions_as_orders, misread = [], [], [], []
    late = 0
    for c in sent:
        row = cf.get(c.comment_id)
        if row is None and c.comment_id not in stored and c.comment_id in queued:
            late += 1
            continue
        if c.intent == "question":
            if c.comment_id not in stored and row is None:
                lost.append(c)
            elif row is not None:
                questions_as_orders.append(c)
            continue
        if row is None:
            lost.append(c)
            if c.comment_id in stored:
                not_captured.append(c)
            continue
        parsed = row[1] if isinstance(row[1], dict) else json.loads(row[1])
        read = tuple((code, qty) for code, qty, *_ in parsed.get("items", []))
        kind = parsed.get("kind")
        if kind != c.intent or (c.intent == "order" and read != c.items):
            misread.append(f"{c.text!r} → {kind} {list(read)}")
    duplicated = (sum(n - 1 for _, _, n in cf.values() if n > 1)
                  + sum(n - 1 for n in stored.values() if n > 1)
                  + int(waitlisted_twice))
    problems_stock = [f"{code}: stock {st}, reserved {res}, open lines {open_lines.get(code, 0)}"
                      f", model {model.reserved.get(code)}"
                      for code, (st, res) in sorted(products.items())
                      if st < 0 or res < 0 or res > st or res != (open_lines.get(code) or 0)
                      or res != model.reserved.get(code)]
    return {
        "orders_correct": correct, "orders_total": total,
        "orders_correct_as_read": read_correct, "orders_total_as_read": read_total,
        "customers_correct": customers_right,
        "customers_total": len(set(model.orders) | set(db_orders)),
        "wrong_examples": wrong,
        "lost": len(lost), "lost_examples": [c.text for c in lost[:5]],
        "still_queued": late,
        "not_captured": len(not_captured),
        "not_captured_examples": sorted({c.text for c in not_captured})[:5],
        "questions_taken_as_orders": len(questions_as_orders),
        "misread": len(misread), "misread_examples": misread[:5],
        "duplicated": duplicated,
        "cf_status": dict(statuses),
        "stock_problems": problems_stock,
        "expected_private_replies": len(model.told_privately),
        "expected_sold_out_replies": model.sold_out_replies,
        "waitlisted": waitlisted, "expected_waitlisted": model.waitlisted,
        "served_from_waitlist": filled,
        "expected_served_from_waitlist": model.served_from_waitlist,
        "sold_out_codes": sorted(code for code, (st, res) in products.items() if res >= st),
    }


def compare(want_of: dict[str, list[tuple[str, dict[str, int]]]],
            got_of: dict[str, list[tuple[str, dict[str, int]]]]
            ) -> tuple[int, int, int, list[str]]:
    """(orders equal, orders in all, customers with every order equal, a few differences)."""
    correct = total = customers_right = 0
    wrong: list[str] = []
    for author in sorted(set(want_of) | set(got_of)):
        want, got = want_of.get(author, []), got_of.get(author, [])
        total += max(len(want), len(got))
        right = sum(1 for w, g in zip(want, got, strict=False) if w == g)
        correct += right
        if right == len(want) == len(got):
            customers_right += 1
        elif len(wrong) < 5:
            wrong.append(f"{author}: expected {want}, database {got}")
    return correct, total, customers_right, wrong


def seed(url: str, stock: dict[str, int]) -> None:
    """Shop, catalogue, automation on and a live running on the post (rows, as /auto on
    and /live start would leave them)."""
    from db.engine import make_engine, make_sessionmaker
    from db.models import AutoSettings, LiveSession, Product, Shop, utcnow

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        shop = Shop(name="ร้านชบา Live")
        session.add(shop)
        session.flush()
        for code, units in stock.items():
            session.add(Product(shop_id=shop.id, code=code, name=f"เสื้อยืด {code}",
                                price_satang=PRICE_SATANG[code], stock=units, reserved=0))
        session.add(AutoSettings(shop_id=shop.id, posts_on=False, live_on=True, paused=False,
                                 mode="keyword", repeat="replace", max_qty=MAX_QTY,
                                 grace_minutes=30))
        session.add(LiveSession(shop_id=shop.id, post_id=POST_ID, started_at=utcnow()))
    engine.dispose()
