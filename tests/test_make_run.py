"""`make run` on a fresh machine: sandbox mode, end to end through real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import fixture_bytes, line_signature

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _poll(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = predicate()
        except requests.RequestException:
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("condition not reached")


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "LINE_", "META_", "FACEBOOK_", "INSTAGRAM_"))}
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path}/shoprelay.db",
               PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        # Start-up imports the platform SDKs (line-bot-sdk alone takes seconds): a loaded
        # CI machine needs a generous deadline.
        _poll(lambda: requests.get(f"{base}/healthz", timeout=2).ok, timeout=90)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        assert "SANDBOX MODE" in output.splitlines()[0] + output.splitlines()[1]
        assert "The database has no conversation yet" in output
        assert process.returncode == 0, output


@pytest.mark.slow
def test_make_run_without_credentials_relays_a_signed_fixture_in_sandbox_mode(
    sandbox_server: str,
) -> None:
    health = requests.get(f"{sandbox_server}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    body = fixture_bytes("line/message__text_thai_emoji.json")
    response = requests.post(f"{sandbox_server}/webhooks/line", data=body, timeout=5,
                             headers={"X-Line-Signature": line_signature(body),
                                      "Content-Type": "application/json"})
    assert response.status_code == 200

    def state() -> dict:  # type: ignore[type-arg]
        found: dict = requests.get(f"{sandbox_server}/sandbox/state", timeout=5).json()  # type: ignore[type-arg]
        return found

    def relayed() -> dict | None:  # type: ignore[type-arg]
        now = state()
        topic = now["people"]["somchai"]
        return now if any(m["thread"] == topic and "สนใจ A01 สีชมพู 2 ชิ้นค่ะ" in m["text"]
                          for m in now["admin_chat"]) else None

    topic_id = _poll(relayed)["people"]["somchai"]
    topic = next(t for t in state()["topics"] if t["id"] == topic_id)
    assert topic["name"].startswith("🟢 สมชาย ใจดี #")
    answer = requests.post(f"{sandbox_server}/sandbox/admin", timeout=5,
                           json={"thread": topic_id, "text": "มีค่ะ 390 บาท"})
    assert answer.status_code == 200
    _poll(lambda: any(m["text"] == "มีค่ะ 390 บาท" and m["from"] == "shop"
                      for m in state()["customers"]["somchai"]))
    # A fresh database: `make run` filled the sandbox with the demo by itself.
    _poll(lambda: all(state()["people"][p] for p in ("somsri", "pimchanok", "ploy", "mint",
                                                      "ploy_tg")))
    page = requests.get(f"{sandbox_server}/sandbox", timeout=5)
    assert page.status_code == 200 and "Admin group" in page.text
