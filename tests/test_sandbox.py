"""The sandbox's customers and admins, through the real webhooks, the worker and the fakes.

The app runs in sandbox mode on a loopback port (its worker talks to the in-app
fakes over HTTP); the page's endpoints are driven with Flask's test client.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import responses
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.cli import cli
from bot.sandbox.cast import PERSON_BY_KEY
from bot.sandbox.demo import SCRIPT, DemoError, Says, check_server, play, seed_products
from bot.sandbox.pictures import PINK, shirts
from db.models import Product
from tests.live_sandbox import LiveServer, listening_socket, serve_sandbox

T = TypeVar("T")


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    server = listening_socket()
    with serve_sandbox(server, database_url) as running:
        yield running
    server.server_close()


@pytest.fixture
def client(live: LiveServer) -> FlaskClient:
    return live.app.test_client()


def _poll(predicate: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _state(client: FlaskClient) -> dict[str, Any]:
    state: dict[str, Any] = client.get("/sandbox/state").get_json()
    return state


def _relayed(client: FlaskClient, person: str, text: str) -> dict[str, Any] | None:
    """The bot's message carrying `text` in the person's topic, once it is there."""
    state = _state(client)
    topic = state["people"][person]
    found = [m for m in state["admin_chat"]
             if topic and m["thread"] == topic and m["from"] == "bot" and text in m["text"]]
    return found[0] if found else None


def _received(client: FlaskClient, person: str, text: str) -> list[dict[str, Any]]:
    return [m for m in _state(client)["customers"][person]
            if m["from"] == "shop" and m["text"] == text]


@pytest.mark.parametrize(("person", "via"), [
    ("somchai", "reply"), ("somsri", "message"), ("pimchanok", "public reply"),
    ("ploy", "message"), ("mint", "public reply"), ("ploy_tg", "message"),
])
def test_each_channel_reaches_its_topic_and_the_answer_reaches_the_customer(
    client: FlaskClient, person: str, via: str,
) -> None:
    said = client.post("/sandbox/customer", json={"person": person, "text": "สนใจ A01 ค่ะ"})
    assert said.status_code == 200
    _poll(lambda: _relayed(client, person, "สนใจ A01 ค่ะ"))
    state = _state(client)
    topic = next(t for t in state["topics"] if t["id"] == state["people"][person])
    assert PERSON_BY_KEY[person].first_name in topic["name"] or "mint.mnt" in topic["name"]
    assert topic["unread"] == 1
    answer = client.post("/sandbox/admin", json={"admin": "nok", "thread": topic["id"],
                                                 "text": "มีค่ะ 390 บาท"})
    assert answer.status_code == 200
    got = _poll(lambda: _received(client, person, "มีค่ะ 390 บาท"))
    assert got[0]["via"] == via
    _poll(lambda: [t for t in _state(client)["topics"] if t["id"] == topic["id"]
                   and t["unread"] == 0])


@pytest.mark.parametrize("person", ["somchai", "somsri", "pimchanok", "ploy", "ploy_tg"])
def test_a_customer_picture_arrives_the_way_its_platform_sends_it(
    client: FlaskClient, person: str,
) -> None:
    photo = shirts((PINK,), (120, 120))
    said = client.post("/sandbox/customer", data={
        "person": person, "picture": (_file(photo), "photo.png", "image/png")})
    assert said.status_code == 200

    def relayed_photo() -> bool:
        state = _state(client)
        shown = [m["picture"] for m in state["admin_chat"]
                 if m["thread"] == state["people"][person] and m["kind"] == "photo"]
        return any(client.get(url).data == photo for url in shown)

    _poll(relayed_photo)
    mine = [m for m in _state(client)["customers"][person] if m["from"] == "customer"]
    assert client.get(mine[0]["picture"]).data == photo


def _file(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_a_tapped_button_acts_like_on_telegram(client: FlaskClient, live: LiveServer) -> None:
    seed_products(live.runtime)
    assert client.post("/sandbox/customer", json={"person": "somchai",
                                                  "text": "เอา A01 ค่ะ"}).status_code == 200
    _poll(lambda: _relayed(client, "somchai", "เอา A01 ค่ะ"))
    topic = _state(client)["people"]["somchai"]
    assert client.post("/sandbox/admin", json={"admin": "ton", "thread": topic,
                                               "text": "/add A01"}).status_code == 200
    order = _poll(lambda: _relayed(client, "somchai", "Order #1"))
    plus = next(b for row in order["buttons"] for b in row if b["text"] == "➕ A01")
    tapped = client.post("/sandbox/button", json={"admin": "ton", "message_id": order["id"],
                                                  "data": plus["data"]})
    assert tapped.status_code == 200
    edited = _poll(lambda: [m for m in _state(client)["admin_chat"]
                            if m["id"] == order["id"] and "× 2" in m["text"]])
    assert edited[0]["edited"]
    with live.runtime.sessions() as session:
        product = session.scalars(select(Product).where(Product.code == "A01")).one()
    assert product.reserved == 2


def test_the_state_is_cheap_when_nothing_changed(client: FlaskClient) -> None:
    state = _state(client)
    assert set(state) >= {"version", "topics", "admin_chat", "customers", "people", "calls"}
    assert state["topics"][0] == {"id": 0, "name": "General", "unread": 0, "closed": False,
                                  "deleted": False}
    assert set(state["customers"]) == set(PERSON_BY_KEY)
    again = client.get(f"/sandbox/state?since={state['version']}").get_json()
    assert again == {"version": state["version"], "unchanged": True}
    client.post("/sandbox/customer", json={"person": "malee", "text": "hello"})
    changed = client.get(f"/sandbox/state?since={state['version']}").get_json()
    assert "topics" in changed
    assert changed["customers"]["malee"][0] == {"from": "customer", "text": "hello",
                                                "picture": None}


@pytest.mark.parametrize(("url", "body", "status", "says"), [
    ("/sandbox/customer", {"person": "nobody", "text": "hi"}, 400, "pick a customer"),
    ("/sandbox/customer", {"person": "somchai", "text": "  "}, 400, "type a message"),
    ("/sandbox/customer", {"person": "anna", "text": "hi"}, 400, "widget"),
    ("/sandbox/admin", {"admin": "boss", "text": "hi"}, 400, "admin must be one of"),
    ("/sandbox/admin", {"admin": "nok", "text": ""}, 400, "type a message"),
    ("/sandbox/button", {"admin": "nok", "message_id": "x", "data": "rd:1"}, 400, "which admin"),
    ("/sandbox/button", {"admin": "nok", "message_id": 999, "data": "rd:1"}, 409,
     "no longer on the message"),
])
def test_a_wrong_action_gets_one_clear_line(client: FlaskClient, url: str, body: dict[str, Any],
                                            status: int, says: str) -> None:
    answer = client.post(url, json=body)
    assert answer.status_code == status
    assert says in answer.get_json()["error"]


def test_pictures_that_cannot_be_sent_are_refused(client: FlaskClient) -> None:
    not_a_picture = client.post("/sandbox/customer", data={
        "person": "somchai", "picture": (_file(b"%PDF-1.4"), "a.pdf", "application/pdf")})
    assert not_a_picture.status_code == 415
    on_instagram_comment = client.post("/sandbox/customer", data={
        "person": "mint", "picture": (_file(shirts()), "a.png", "image/png")})
    assert on_instagram_comment.status_code == 400
    assert "Instagram DM" in on_instagram_comment.get_json()["error"]
    too_big = client.post("/sandbox/customer", data={
        "person": "somchai", "picture": (_file(b"\0" * (5 * 1024 * 1024 + 1)), "big.png",
                                         "image/png")})
    assert too_big.status_code == 413


def test_the_demo_fills_every_channel_and_opens_an_order(live: LiveServer,
                                                          client: FlaskClient) -> None:
    assert seed_products(live.runtime) == 7
    assert seed_products(live.runtime) == 0
    play(live.url)
    people = {step.person for step in SCRIPT if isinstance(step, Says)}
    state = _poll(lambda: s if all((s := _state(client))["people"][p] for p in people) else None)
    channels = {PERSON_BY_KEY[p].channel for p in people}
    assert channels == {"line", "messenger", "facebook_comment", "instagram_dm",
                        "instagram_comment", "telegram"}
    assert _poll(lambda: _relayed(client, "pimchanok", "CF A01"))
    assert _poll(lambda: _relayed(client, "somchai", "Order #1"))
    assert any(m["from"] == "customer" and m["picture"] for m in state["customers"]["somchai"])


def test_the_page_offers_every_channel(client: FlaskClient) -> None:
    page = client.get("/sandbox").get_data(as_text=True)
    for label in ("LINE", "Messenger", "Facebook comment", "Instagram DM", "Instagram comment",
                  "Web chat", "Telegram"):
        assert label in page
    assert client.get("/sandbox/picture/avatar-somchai.png").mimetype == "image/png"
    assert client.get("/sandbox/picture/nothing.png").status_code == 404
    assert client.get("/sandbox/file/upload/nothing").status_code == 404


def test_an_admin_reply_to_one_message_is_answered_on_its_channel(client: FlaskClient) -> None:
    assert client.post("/sandbox/customer", json={"person": "somchai",
                                                  "text": "A02 มีไหมคะ"}).status_code == 200
    relayed = _poll(lambda: _relayed(client, "somchai", "A02 มีไหมคะ"))
    answer = client.post("/sandbox/admin", json={"admin": "nok", "thread": relayed["thread"],
                                                 "reply_to": relayed["id"], "text": "มีค่ะ"})
    assert answer.status_code == 200
    assert _poll(lambda: _received(client, "somchai", "มีค่ะ"))
    mine = [m for m in _state(client)["admin_chat"] if m["from"] == "Nok"]
    assert mine[0]["reply_to"] == relayed["id"]


def test_the_demo_command_says_in_one_line_when_no_sandbox_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "LINE_CHANNEL_SECRET", "META_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    closed = listening_socket()
    url = f"http://127.0.0.1:{closed.server_port}"
    closed.server_close()
    result = CliRunner().invoke(cli, ["demo", "--url", url])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: no ShopRelay server answers at {url}: start it "
                                     "with `make run` first")


@responses.activate
def test_the_demo_refuses_a_server_with_real_credentials() -> None:
    responses.get("http://shop.example.test/healthz",
                  json={"status": "ok", "database": "postgresql", "sandbox": False})
    with pytest.raises(DemoError, match="not in sandbox mode"):
        check_server("http://shop.example.test")
