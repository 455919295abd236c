"""`python -m bot demo`: a small Thai clothing shop, alive at first sight in the sandbox.

Products go straight into the database (like /product add would put them);
everything else goes through the running server's sandbox endpoints, so each
customer message is a signed webhook handled by the real relay, and each admin
step a Telegram update: customers write on every channel (one sends a picture,
one comments "CF A01" on the demo post), admins answer, and one order is opened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.sandbox import pictures
from db.models import Conversation, Product, utcnow

log = logging.getLogger("bot.sandbox.demo")

# code, name, price in baht, stock
PRODUCTS = (
    ("A01", "เสื้อยืดสีชมพู", 390, 20),
    ("A02", "เสื้อยืดสีขาว", 390, 15),
    ("A03", "เสื้อยืดสีดำ", 390, 12),
    ("B01", "กระเป๋าผ้าลายช้าง", 250, 8),
    ("C01", "หมวกบักเก็ต", 290, 6),
    ("D01", "กางเกงผ้าลินิน", 590, 10),
    ("E01", "ผ้าพันคอไหมไทย", 450, 3),
)


@dataclass(frozen=True, slots=True)
class Says:
    """A customer writes (with the demo's picture when `picture`)."""

    person: str
    text: str
    picture: bool = False


@dataclass(frozen=True, slots=True)
class Answers:
    """An admin writes in that customer's topic."""

    admin: str
    person: str
    text: str


SCRIPT: tuple[Says | Answers, ...] = (
    Says("somchai", "สวัสดีครับ เสื้อยืด A01 สีชมพูยังมีไหมครับ"),
    Says("somchai", "ตัวนี้ครับ ไซส์ L", picture=True),
    Says("somsri", "สนใจกระเป๋าผ้าลายช้าง B01 ค่ะ ส่งฟรีไหมคะ"),
    Says("pimchanok", "CF A01"),
    Says("ploy", "ผ้าพันคอไหมมีสีอะไรบ้างคะ"),
    Says("mint", "สวยมากค่ะ 😍 B01 ยังมีไหม"),
    Says("ploy_tg", "สวัสดีค่ะ สอบถามสินค้า A02 ค่ะ"),
    Says("malee", "Hi! Do you ship to Chiang Mai?"),
    Says("wipa", "A02 ราคาเท่าไหร่คะ"),
    Says("thanapon", "มีกางเกงลินินไซส์ XL ไหมครับ"),
    Says("nat", "hello! is the bucket hat unisex?"),
    Says("krit", "สั่งหมวก C01 1 ใบครับ"),
    Answers("nok", "somchai", "มีค่ะ ไซส์ L เหลือ 3 ตัว ตัวละ 390 บาทค่ะ 😊"),
    Says("somchai", "เอา 2 ตัวครับ"),
    Answers("nok", "somchai", "/add A01 2"),
    Answers("ton", "malee", "Yes! 2–3 days by Kerry Express 🚚"),
    Answers("ton", "wipa", "390 บาทค่ะ ทักแชทมาได้เลยนะคะ"),
)


class DemoError(Exception):
    """The demo cannot run; the message is one line saying why."""


def seed_products(runtime: Runtime) -> int:
    """Add the demo catalogue's missing products; returns how many were added."""
    shop_id = runtime.shop_id
    added = 0
    with runtime.transaction() as session:
        known = set(session.scalars(select(Product.code).where(Product.shop_id == shop_id)))
        for code, name, price, stock in PRODUCTS:
            if code not in known:
                session.add(Product(shop_id=shop_id, code=code, name=name,
                                    price_satang=price * 100, stock=stock, created_at=utcnow()))
                added += 1
    return added


def check_server(base_url: str) -> None:
    """The server answers and is a sandbox: the demo must never write to real customers."""
    try:
        health = requests.get(f"{base_url}/healthz", timeout=5)
    except requests.RequestException:
        raise DemoError(f"no ShopRelay server answers at {base_url}: start it with "
                        "`make run` first") from None
    if not health.ok or not health.json().get("sandbox"):
        raise DemoError(f"the server at {base_url} is not in sandbox mode (it has platform "
                        "credentials), so the demo would write to real customers")


def play(base_url: str, say: Callable[[str], None] = lambda _: None,
         topic_timeout: float = 60.0) -> None:
    """Run SCRIPT against a running sandbox at `base_url`."""
    photo = pictures.shirts((pictures.PINK,), (240, 240))
    last_said: dict[str, str] = {}
    for step in SCRIPT:
        if isinstance(step, Says):
            files = {"picture": ("photo.png", photo, "image/png")} if step.picture else None
            answer = requests.post(f"{base_url}/sandbox/customer", timeout=30, files=files,
                                   data={"person": step.person, "text": step.text})
            last_said[step.person] = step.text
        else:
            topic = _topic_of(base_url, step.person, last_said.get(step.person, ""),
                              topic_timeout)
            answer = requests.post(f"{base_url}/sandbox/admin", timeout=30, json={
                "admin": step.admin, "thread": topic, "text": step.text})
        if not answer.ok:
            raise DemoError(f"the sandbox refused a demo step ({answer.status_code}): "
                            f"{answer.text[:200]}")
        say(f"{step.person}: {step.text}")


def _topic_of(base_url: str, person: str, last_said: str, timeout: float) -> int:
    """The person's topic, once the relay has shown their last message in it.

    An admin answers what they have read: waiting for it keeps the topic in order.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = requests.get(f"{base_url}/sandbox/state", timeout=10).json()
        topic = state["people"].get(person)
        if topic and any(m["thread"] == topic and m["from"] == "bot" and last_said in m["text"]
                         for m in state["admin_chat"]):
            return int(topic)
        time.sleep(0.2)
    raise DemoError(f"the relay opened no topic for {person} in {timeout:.0f} s: "
                    "is the worker running?")


def seed_when_empty(runtime: Runtime) -> threading.Thread | None:
    """`make run` in sandbox mode: a database without conversations gets the demo.

    Runs beside the server that is starting (it waits until the server answers),
    through the same HTTP endpoints as `python -m bot demo`.
    """
    with runtime.sessions() as session:
        if session.scalar(select(func.count(Conversation.id))):
            return None
    settings = runtime.settings
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base_url = f"http://{host}:{settings.port}"
    log.warning("The database has no conversation yet: filling the sandbox with the demo "
                "(python -m bot demo adds it again).")

    def seed() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base_url}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        try:
            seed_products(runtime)
            play(base_url)
        except (DemoError, requests.RequestException) as exc:
            log.warning("the demo did not finish: %s", exc)

    thread = threading.Thread(target=seed, name="sandbox-demo", daemon=True)
    thread.start()
    return thread
