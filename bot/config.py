"""Typed settings, read once from the environment and `.env`.

Real environment variables win over `.env`. A channel whose variables are all
unset is off; one with only some of them set stops start-up with one line
naming what is missing (ConfigError). Secrets never appear in `describe()`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_DATABASE_URL = "sqlite:///var/shoprelay.db"

# The sandbox reuses the fixtures' test secrets, so a fixture signed with
# ../shared/fixtures/sign.py can be posted to a sandbox instance as it is.
SANDBOX_LINE_SECRET = "line-test-secret"
SANDBOX_TELEGRAM_SECRET = "tg-test-secret"
SANDBOX_ADMIN_CHAT_ID = -1002145678901
SANDBOX_TOKEN = "123456:sandbox"
SANDBOX_META_SECRET = "meta-test-secret"
SANDBOX_PAGE_ID = "108234567890123"
SANDBOX_INSTAGRAM_ID = "17841406234567890"
# Nok, the sandbox's owner (Ton, the other sandbox admin, is an agent).
SANDBOX_OWNER_ID = 5012345678


class ConfigError(Exception):
    """A configuration problem, told in one line a shop owner can act on."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""

    telegram_bot_token: str = ""
    telegram_admin_chat_id: int = 0
    telegram_webhook_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_owner_ids: tuple[int, ...] = ()
    # Telegram allows about 20 messages a minute into one group; the sender
    # paces itself below that instead of collecting 429s.
    telegram_group_per_minute: int = 20

    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_admin_group_id: str = ""
    line_api_url: str = "https://api.line.me"
    line_data_api_url: str = "https://api-data.line.me"

    meta_app_secret: str = ""
    meta_verify_token: str = ""
    facebook_page_id: str = ""
    facebook_page_access_token: str = ""
    instagram_account_id: str = ""
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v23.0"
    # The app has Meta's human_agent permission: an admin's own answer may go
    # out up to 7 days after the customer's last message (HUMAN_AGENT tag).
    meta_human_agent: bool = False

    # How customers pay: a PromptPay phone number, national/tax id or e-wallet id
    # (the invoice's QR code), and free text such as "KBank 123-4-56789-0 ร้านดีดี".
    shop_promptpay_id: str = ""
    shop_bank_account: str = ""
    # The morning summary in the general topic, in the shop's time zone; "off" for none.
    shop_timezone: str = "Asia/Bangkok"
    summary_time: str = "08:00"
    # What admins and customers read: "en" (English) or "th" (Thai); see bot/i18n.py.
    shop_language: str = "en"

    # The shop's own web chat (🌐): on without credentials. Visitor tokens are signed
    # with WEBCHAT_SECRET, or a key derived from the bot's secrets when it is unset.
    webchat_enabled: bool = True
    webchat_secret: str = ""
    webchat_allowed_origins: tuple[str, ...] = ()  # besides PUBLIC_URL's own origin
    webchat_max_image_bytes: int = 5 * 1024 * 1024
    webchat_per_minute: int = 20
    # Long polling: how long one request waits for a reply, and how many requests one
    # web process holds at once (the rest are answered at once and ask again soon).
    webchat_wait_seconds: float = 25.0
    webchat_long_polls: int = 2

    worker_poll_seconds: float = 0.5
    sandbox: bool = False

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_channel_secret)

    @property
    def facebook_enabled(self) -> bool:
        return bool(self.meta_app_secret)

    @property
    def instagram_enabled(self) -> bool:
        return bool(self.instagram_account_id)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> list[str]:
        """What `check-config` prints: channels and endpoints, never a secret."""
        def state(on: bool) -> str:
            return "configured" if on else "off"

        lines = [
            f"database: {_redact_url(self.database_url)}",
            f"web: http://{self.host}:{self.port}"
            + (f"  (public URL {self.public_url})" if self.public_url else ""),
            f"mode: {'sandbox (local fake platforms)' if self.sandbox else 'live'}",
            f"telegram admin group: {state(self.telegram_enabled)}",
        ]
        if self.telegram_enabled:
            lines.append(f"  admin chat id: {self.telegram_admin_chat_id}")
            lines.append(
                "  webhook secret: "
                + ("set" if self.telegram_webhook_secret else "not set (polling only)")
            )
            lines.append(f"  owners: {len(self.telegram_owner_ids)}")
            lines.append(f"  API root: {self.telegram_api_url}")
        lines.append(f"line official account: {state(self.line_enabled)}")
        if self.line_enabled:
            lines.append(f"  API roots: {self.line_api_url}, {self.line_data_api_url}")
            if self.line_admin_group_id:
                lines.append(f"  LINE admin group: {self.line_admin_group_id}")
        lines.append(f"facebook (messenger + comments): {state(self.facebook_enabled)}")
        lines.append(f"instagram (dm + comments): {state(self.instagram_enabled)}")
        pay = [name for name, on in (("PromptPay QR", self.shop_promptpay_id),
                                     ("bank account text", self.shop_bank_account)) if on]
        lines.append(f"invoices: {' + '.join(pay) if pay else 'off (set SHOP_PROMPTPAY_ID)'}")
        lines.append(f"morning summary: {self.summary_time} {self.shop_timezone}")
        lines.append(f"language: {self.shop_language}")
        lines.append(f"web chat: {'on' if self.webchat_enabled else 'off'}")
        if self.webchat_enabled:
            lines.append("  allowed origins: PUBLIC_URL" + "".join(
                f", {origin}" for origin in self.webchat_allowed_origins))
            lines.append(f"  pictures up to {self.webchat_max_image_bytes:,} bytes; "
                         f"{self.webchat_per_minute} messages a minute per visitor")
            lines.append("  token secret: " + ("WEBCHAT_SECRET" if self.webchat_secret
                                               else "derived from the bot's secrets"))
        return lines


# Channel rows of the contract: (name, required together, optional).
_CHANNELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Telegram admin group", ("TELEGRAM_BOT_TOKEN", "TELEGRAM_ADMIN_CHAT_ID")),
    ("LINE Official Account", ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")),
    (
        "Facebook",
        ("META_APP_SECRET", "META_VERIFY_TOKEN", "FACEBOOK_PAGE_ID", "FACEBOOK_PAGE_ACCESS_TOKEN"),
    ),
)

_OPTIONAL_NEEDS = {
    "TELEGRAM_WEBHOOK_SECRET": "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_OWNER_IDS": "TELEGRAM_BOT_TOKEN",
    "LINE_ADMIN_GROUP_ID": "LINE_CHANNEL_SECRET",
    "INSTAGRAM_ACCOUNT_ID": "FACEBOOK_PAGE_ID",
}

_CREDENTIALS = (
    "TELEGRAM_BOT_TOKEN",
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "META_APP_SECRET",
    "FACEBOOK_PAGE_ACCESS_TOKEN",
)


def read_environment(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> dict[str, str]:
    """The environment merged over `.env`; empty values count as unset."""
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return {k: v.strip() for k, v in merged.items() if v and v.strip()}


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    env = read_environment(environ, env_file)
    _check_channels(env)
    _check_shop(env)
    _check_line_admin_group(env)
    _check_webchat(env)
    if not any(name in env for name in _CREDENTIALS):
        return _sandbox_settings(env)
    return _parse(env)


def _check_webchat(env: Mapping[str, str]) -> None:
    """Web chat limits must be positive, and origins plain scheme://host[:port]."""
    for key in ("WEBCHAT_MAX_IMAGE_BYTES", "WEBCHAT_PER_MINUTE", "WEBCHAT_LONG_POLLS"):
        if key in env and env[key].lstrip("-").isdigit() and int(env[key]) < 1:
            raise ConfigError(f"{key} must be at least 1, got {env[key]!r}")
    for entry in env.get("WEBCHAT_ALLOWED_ORIGINS", "").split(","):
        origin = entry.strip().rstrip("/")
        if origin and not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?", origin):
            raise ConfigError("WEBCHAT_ALLOWED_ORIGINS takes origins such as "
                              f"https://shop.example.com, separated by commas; got {origin!r}")


def _check_line_admin_group(env: Mapping[str, str]) -> None:
    """A LINE group id is "C" and 32 hex digits; anything else would never match a group."""
    group = env.get("LINE_ADMIN_GROUP_ID")
    if group is not None and not re.fullmatch(r"C[0-9a-f]{32}", group):
        raise ConfigError(
            "LINE_ADMIN_GROUP_ID must be a LINE group id: C followed by 32 hex digits "
            f"(33 characters), as logged when the bot joins the group; got {group!r}")


def _check_shop(env: Mapping[str, str]) -> None:
    """Payment settings a customer would act on: a wrong one must stop start-up."""
    from bot.orders.promptpay import PromptPayError, parse_target

    if "SHOP_PROMPTPAY_ID" in env:
        try:
            parse_target(env["SHOP_PROMPTPAY_ID"])
        except PromptPayError as exc:
            raise ConfigError(f"SHOP_PROMPTPAY_ID: {exc}") from None
    language = env.get("SHOP_LANGUAGE", "en")
    if language not in ("en", "th"):
        raise ConfigError(f"SHOP_LANGUAGE must be en (English) or th (Thai); got {language!r}")
    at = env.get("SUMMARY_TIME", "08:00").lower()
    if at != "off" and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", at):
        raise ConfigError(f"SUMMARY_TIME must be a time like 08:00, or off; got {at!r}")


def _check_channels(env: Mapping[str, str]) -> None:
    for name, required in _CHANNELS:
        present = [v for v in required if v in env]
        if present and len(present) < len(required):
            missing = ", ".join(v for v in required if v not in env)
            raise ConfigError(f"{name} is partly configured: set {missing} (or unset the rest)")
    for optional, needs in _OPTIONAL_NEEDS.items():
        if optional in env and needs not in env:
            raise ConfigError(f"{optional} is set but {needs} is missing")


def _parse(env: Mapping[str, str]) -> Settings:
    known = {f.name for f in fields(Settings)}
    values: dict[str, object] = {}
    for key, raw in env.items():
        name = key.lower()
        if name not in known or name == "sandbox":
            continue
        values[name] = _convert(key, name, raw)
    return Settings(**values)  # type: ignore[arg-type]


def _convert(key: str, name: str, raw: str) -> object:
    default = getattr(Settings(), name)
    try:
        if name == "webchat_allowed_origins":
            return tuple(o.strip().rstrip("/").lower() for o in raw.split(",") if o.strip())
        if name == "telegram_owner_ids":
            return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
        if isinstance(default, bool):
            return raw.lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    if name.endswith("_url") and name != "database_url":
        return raw.rstrip("/")
    return raw


def _sandbox_settings(env: Mapping[str, str]) -> Settings:
    """No credentials at all: local fake platforms, served by the app itself."""
    base = _parse({k: v for k, v in env.items() if not k.endswith("_API_URL")})
    root = f"http://{base.host}:{base.port}/_fake"
    return base.with_overrides(
        sandbox=True,
        telegram_bot_token=SANDBOX_TOKEN,
        telegram_admin_chat_id=SANDBOX_ADMIN_CHAT_ID,
        telegram_webhook_secret=SANDBOX_TELEGRAM_SECRET,
        telegram_api_url=f"{root}/telegram",
        telegram_group_per_minute=600,
        line_channel_secret=SANDBOX_LINE_SECRET,
        line_channel_access_token="sandbox-line-token",
        line_api_url=f"{root}/line",
        line_data_api_url=f"{root}/line",
        meta_app_secret=SANDBOX_META_SECRET,
        meta_verify_token="verify-me",
        facebook_page_id=SANDBOX_PAGE_ID,
        facebook_page_access_token="sandbox-page-token",
        instagram_account_id=SANDBOX_INSTAGRAM_ID,
        graph_api_url=f"{root}/graph",
        telegram_owner_ids=(SANDBOX_OWNER_ID,),
        public_url=base.public_url or f"http://{base.host}:{base.port}",
    )


def _redact_url(url: str) -> str:
    """Hide a password inside a database URL."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
