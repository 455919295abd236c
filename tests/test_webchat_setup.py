"""Setting up the web chat: its settings, the script a shop embeds, the sandbox's demo page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import ConfigError, load_settings
from bot.runtime import Runtime, runtime_of

SECRET = "webchat-very-secret-value"


def test_web_chat_is_on_by_default_and_check_config_never_shows_its_secret(
    tmp_path: Path,
) -> None:
    settings = load_settings({
        "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_ADMIN_CHAT_ID": "-1001",
        "WEBCHAT_SECRET": SECRET,
        "WEBCHAT_ALLOWED_ORIGINS": "https://www.chaba-shop.com/, https://Chaba.Shop",
        "WEBCHAT_PER_MINUTE": "10"}, env_file=tmp_path / ".env")
    assert settings.webchat_enabled and settings.webchat_per_minute == 10
    assert settings.webchat_allowed_origins == ("https://www.chaba-shop.com",
                                                "https://chaba.shop")
    described = "\n".join(settings.describe())
    assert "web chat: on" in described and "https://chaba.shop" in described
    assert SECRET not in described
    sandbox = load_settings({}, env_file=tmp_path / ".env")
    assert sandbox.sandbox and sandbox.webchat_enabled


@pytest.mark.parametrize(("key", "value", "says"), [
    ("WEBCHAT_ALLOWED_ORIGINS", "chaba-shop.com", "origins such as"),
    ("WEBCHAT_ALLOWED_ORIGINS", "https://chaba-shop.com/shop", "origins such as"),
    ("WEBCHAT_PER_MINUTE", "0", "at least 1"),
    ("WEBCHAT_MAX_IMAGE_BYTES", "-5", "at least 1"),
    ("WEBCHAT_MAX_IMAGE_BYTES", "5MB", "must be a number"),
])
def test_a_wrong_web_chat_setting_stops_start_up_with_one_line(
    tmp_path: Path, key: str, value: str, says: str,
) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings({key: value}, env_file=tmp_path / ".env")


def test_web_chat_can_be_turned_off(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.with_overrides(webchat_enabled=False)
    client = create_app(runtime=runtime).test_client()
    assert client.post("/webchat/session", json={}).status_code == 404
    assert client.get("/webchat/widget.js").status_code == 404


def test_the_widget_script_is_public_and_builds_no_html_from_text(client: FlaskClient) -> None:
    script = client.get("/webchat/widget.js", headers={"Origin": "https://anywhere.example"})
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert script.headers["Access-Control-Allow-Origin"] == "*"
    source = script.get_data(as_text=True)
    assert "textContent" in source
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source
    assert "document.write" not in source


def test_the_demo_shop_page_exists_only_in_the_sandbox(app: Flask, client: FlaskClient) -> None:
    assert client.get("/webchat/demo").status_code == 404
    runtime = runtime_of(app)
    runtime.settings = runtime.settings.with_overrides(sandbox=True)
    page = client.get("/webchat/demo?visitor=<script>alert(1)</script> Ploy")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sandbox shop" in html
    assert '<script src="/webchat/widget.js" data-shop-name="Sandbox shop"' in html
    assert 'data-visitor-name="&lt;script&gt;alert(1)&lt;/script&gt; Ploy"' in html
    assert "<script>alert" not in html
