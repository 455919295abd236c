"""A web chat visitor for tests: the calls the widget makes, through the test client."""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

SHOP_ORIGIN = "https://shop.example.test"  # the tests' PUBLIC_URL
FRIEND_ORIGIN = "https://friend-shop.example"  # in WEBCHAT_ALLOWED_ORIGINS
_client_ids = itertools.count(1)


class Visitor:
    """One browser: its token, and what it posts and reads."""

    def __init__(self, client: FlaskClient, name: str | None = None,
                 origin: str = SHOP_ORIGIN) -> None:
        self.client = client
        self.origin = origin
        answer = client.post("/webchat/session", json={"name": name} if name else {},
                             headers={"Origin": origin})
        assert answer.status_code == 200, answer.get_json()
        self.token: str = answer.get_json()["token"]
        self.name: str = answer.get_json()["name"]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Origin": self.origin, **extra}

    def say(self, text: str, client_id: str | None = None) -> TestResponse:
        return self.client.post("/webchat/messages", headers=self.headers(), json={
            "text": text, "client_id": client_id or f"c{next(_client_ids)}"})

    def send_picture(self, data: bytes, filename: str = "photo.png",
                     content_type: str = "image/png", caption: str | None = None,
                     client_id: str | None = None) -> TestResponse:
        form: dict[str, Any] = {"image": (io.BytesIO(data), filename, content_type),
                                "client_id": client_id or f"c{next(_client_ids)}"}
        if caption is not None:
            form["text"] = caption
        return self.client.post("/webchat/messages", headers=self.headers(), data=form,
                                content_type="multipart/form-data")

    def events(self, after: int = 0, wait: bool = False) -> dict[str, Any]:
        answer = self.client.get(f"/webchat/events?after={after}&wait={int(wait)}",
                                 headers=self.headers())
        assert answer.status_code == 200, answer.get_json()
        body: dict[str, Any] = answer.get_json()
        return body

    def history_until(self, done: Callable[[list[dict[str, Any]]], bool],
                      timeout: float = 15.0) -> list[dict[str, Any]]:
        """The whole conversation once `done` holds, reading it as the widget does
        (long polls that return as soon as something new is there)."""
        seen: list[dict[str, Any]] = []
        cursor = 0
        deadline = time.monotonic() + timeout
        while not done(seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"the conversation never got there: {seen}")
            body = self.events(cursor, wait=True)
            seen += body["messages"]
            cursor = body["cursor"]
        return seen


def texts(messages: list[dict[str, Any]], sender: str) -> list[str]:
    return [m["text"] for m in messages if m["from"] == sender]
