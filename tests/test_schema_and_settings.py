"""The migration builds exactly the models' schema; settings read as the contract says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.config import ConfigError, load_settings
from db.engine import make_engine
from db.models import Base
from db.search import include_object

ROOT = Path(__file__).resolve().parent.parent
FULL = {
    "TELEGRAM_BOT_TOKEN": "123:secret-token", "TELEGRAM_ADMIN_CHAT_ID": "-1002145678901",
    "TELEGRAM_WEBHOOK_SECRET": "tg-hidden", "LINE_CHANNEL_SECRET": "line-hidden",
    "LINE_CHANNEL_ACCESS_TOKEN": "line-token-hidden", "META_APP_SECRET": "meta-hidden",
    "META_VERIFY_TOKEN": "verify-hidden", "FACEBOOK_PAGE_ID": "108234567890123",
    "FACEBOOK_PAGE_ACCESS_TOKEN": "page-hidden",
}


def test_the_migration_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_table_but_shops_carries_shop_id() -> None:
    for table in Base.metadata.sorted_tables:
        assert table.name == "shops" or "shop_id" in table.c, table.name


def test_no_credentials_means_sandbox(tmp_path: Path) -> None:
    settings = load_settings({"PORT": "8123"}, env_file=tmp_path / ".env")
    assert settings.sandbox
    assert settings.telegram_api_url == "http://127.0.0.1:8123/_fake/telegram"


@pytest.mark.parametrize(("env", "missing"), [
    ({"TELEGRAM_BOT_TOKEN": "x"}, "TELEGRAM_ADMIN_CHAT_ID"),
    ({"LINE_CHANNEL_SECRET": "x"}, "LINE_CHANNEL_ACCESS_TOKEN"),
    ({"META_APP_SECRET": "x", "META_VERIFY_TOKEN": "y", "FACEBOOK_PAGE_ID": "1"},
     "FACEBOOK_PAGE_ACCESS_TOKEN"),
    ({"INSTAGRAM_ACCOUNT_ID": "1"}, "FACEBOOK_PAGE_ID"),
])
def test_a_partly_configured_channel_is_one_line_naming_what_is_missing(
    env: dict[str, str], missing: str, tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env, env_file=tmp_path / ".env")
    assert missing in str(raised.value) and "\n" not in str(raised.value)


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9001\nHOST=0.0.0.0\n")
    settings = load_settings({"PORT": "9002"}, env_file=env_file)
    assert settings.port == 9002 and settings.host == "0.0.0.0"


def test_a_number_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_ADMIN_CHAT_ID"):
        load_settings({**FULL, "TELEGRAM_ADMIN_CHAT_ID": "the shop group"},
                      env_file=tmp_path / ".env")


def test_check_config_prints_channels_and_never_a_secret(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **FULL}
    done = subprocess.run([sys.executable, "-m", "bot", "check-config"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "telegram admin group: configured" in done.stdout
    for key, value in FULL.items():
        if "SECRET" in key or "TOKEN" in key:
            assert value not in done.stdout + done.stderr
    partial = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "LINE_CHANNEL_SECRET": "x"}
    done = subprocess.run([sys.executable, "-m", "bot", "check-config"], cwd=tmp_path,
                          env=partial, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "LINE_CHANNEL_ACCESS_TOKEN" in done.stderr


@pytest.mark.parametrize(("name", "value", "named"), [
    ("SHOP_PROMPTPAY_ID", "12345", "SHOP_PROMPTPAY_ID"),
    ("SUMMARY_TIME", "8 am", "SUMMARY_TIME"),
])
def test_a_wrong_payment_or_summary_setting_stops_start_up(
    name: str, value: str, named: str, tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match=named) as raised:
        load_settings({**FULL, name: value}, env_file=tmp_path / ".env")
    assert "\n" not in str(raised.value)
    settings = load_settings({**FULL, "SHOP_PROMPTPAY_ID": "081-234-5678"},
                             env_file=tmp_path / ".env")
    assert settings.shop_promptpay_id == "081-234-5678"
