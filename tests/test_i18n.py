"""Every text an admin or a customer reads is in both catalogues, and SHOP_LANGUAGE=th
turns the admin group and the customers' texts Thai.

The messages are extracted from the source as `make messages` does (babel.cfg, with
N_ as a keyword), so a new `_()` text without an English and a Thai entry fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.config import ConfigError, Settings, load_settings
from bot.fakes.line import FakeLine
from bot.fakes.telegram import FakeTelegram
from bot.i18n import LANGUAGES, catalogue_path, set_language
from bot.relay.worker import Worker
from bot.runtime import Runtime
from db.models import Conversation
from tests.helpers import (
    ADMIN_CHAT_ID,
    SOMCHAI,
    line_body,
    line_text,
    post_line,
    post_telegram,
    tg_update,
)

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")

Key = str | tuple[str, str]


def _source_messages() -> set[Key]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: set[Key] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options, keywords=keywords):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def _catalogue(language: str) -> dict[Key, tuple[str, ...]]:
    with catalogue_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    entries: dict[Key, tuple[str, ...]] = {}
    for message in catalog:
        if message.id:
            key = message.id if isinstance(message.id, str) else (message.id[0], message.id[1])
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            entries[key] = tuple("" if message.fuzzy else str(f) for f in forms)
    return entries


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_every_text_in_the_source_is_translated_in_both_catalogues() -> None:
    source = _source_messages()
    assert len(source) > 50  # extraction really found the texts
    problems = []
    for language in LANGUAGES:
        entries = _catalogue(language)
        for key in sorted(source, key=str):
            forms = entries.get(key)
            if forms is None:
                problems.append(f"{language}: missing {key!r}")
            elif not all(forms):
                problems.append(f"{language}: empty msgstr for {key!r}")
    assert not problems, "run `make messages` and fill these in:\n" + "\n".join(problems)


def test_translations_keep_their_placeholders() -> None:
    problems = []
    for language in LANGUAGES:
        for key, forms in _catalogue(language).items():
            if isinstance(key, str):
                bad = [f for f in forms if f and _placeholders(f) != _placeholders(key)]
            else:
                # English "one" may leave {n} out; the last (or only) form has the plural's.
                every = _placeholders(key[0]) | _placeholders(key[1])
                bad = [f for f in forms if f and not _placeholders(f) <= every]
                if forms[-1] and _placeholders(forms[-1]) != _placeholders(key[1]):
                    bad.append(forms[-1])
            problems += [f"{language}: {key!r} → {form!r}" for form in bad]
    assert not problems, "placeholders differ from the msgid:\n" + "\n".join(problems)


def test_shop_language_is_en_or_th() -> None:
    assert load_settings({}, env_file=None).shop_language == "en"
    assert load_settings({"SHOP_LANGUAGE": "th"}, env_file=None).shop_language == "th"
    with pytest.raises(ConfigError, match=r"SHOP_LANGUAGE must be en .* or th"):
        load_settings({"SHOP_LANGUAGE": "fr"}, env_file=None)
    assert "language: th" in load_settings({"SHOP_LANGUAGE": "th"}, env_file=None).describe()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(shop_language="th")


@pytest.fixture(autouse=True)
def _back_to_english() -> Iterator[None]:
    """The language is process-wide: the next test starts in English as its runtime would."""
    yield
    set_language("en")


def test_thai_shop_gets_thai_cards_and_command_answers(
    client: FlaskClient, fake_telegram: FakeTelegram, fake_line: FakeLine, runtime: Runtime,
    worker: Worker,
) -> None:
    fake_line.add_profile(SOMCHAI, "สมชาย ใจดี")
    assert post_line(client, line_body(line_text("ขอดูเสื้อสีชมพูค่ะ"))).status_code == 200
    topic = fake_telegram.wait_for(lambda: fake_telegram.topic_named("🟢 สมชาย ใจดี #1"))
    card = fake_telegram.wait_for(lambda: [
        m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, topic.thread_id)
        if "ที่อยู่จัดส่ง" in (m.text or "")])[0]
    assert "บทสนทนา #1" in (card.text or "") and "Shipping" not in (card.text or "")
    fake_telegram.wait_for(lambda: [
        m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, topic.thread_id)
        if m.text == "ขอดูเสื้อสีชมพูค่ะ"])

    assert post_telegram(client, tg_update("/tag", thread_id=topic.thread_id)).status_code == 200
    answer = fake_telegram.wait_for(lambda: [
        m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, topic.thread_id)
        if "/tag vip" in (m.text or "") and m.text != "/tag"])[0]
    assert "ระบุแท็ก" in (answer.text or "") and "วิธีใช้" in (answer.text or "")

    assert post_telegram(client, tg_update("/help", thread_id=topic.thread_id)).status_code == 200
    fake_telegram.wait_for(lambda: [
        m for m in fake_telegram.messages_in(ADMIN_CHAT_ID, topic.thread_id)
        if "<b>คำสั่ง</b>" in (m.text or "") and "ติดแท็กลูกค้าคนนี้" in (m.text or "")])
    with runtime.sessions() as session:
        assert session.scalars(select(Conversation)).one().topic_id == topic.thread_id
    # The web chat widget a customer sees speaks Thai too.
    widget = client.get("/webchat/widget.js").get_data(as_text=True)
    assert "พิมพ์ข้อความ…" in widget and "textContent" in widget
