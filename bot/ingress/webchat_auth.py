"""Who may talk to the web chat: signed visitor tokens and allowed origins (CORS).

A visitor's token is their public id with an HMAC over it, so the server keeps
no session table to check and a token cannot be made up. The key is
WEBCHAT_SECRET, or one derived from the bot's own secrets (as media URLs are),
so a deployment works without setting anything; it is never logged.

Browsers send `Origin` with every cross-site request: a page on an origin that
is not the shop's own (PUBLIC_URL, or the address the request came to) nor in
WEBCHAT_ALLOWED_ORIGINS gets 403 and no CORS header, so it can neither post nor
read a visitor's conversation. A request without `Origin` is not a browser's
cross-site one (curl, a server): its token alone decides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from db.models import WebchatVisitor

TOKEN_VERSION = "v1"


def _key(settings: Settings) -> bytes:
    if settings.webchat_secret:
        return settings.webchat_secret.encode()
    base = (settings.line_channel_secret or settings.telegram_bot_token or "shoprelay").encode()
    return hmac.new(base, b"webchat visitor tokens", hashlib.sha256).digest()


def _signature(settings: Settings, public_id: str) -> str:
    digest = hmac.new(_key(settings), f"webchat:{public_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


def token_for(settings: Settings, public_id: str) -> str:
    return f"{TOKEN_VERSION}.{public_id}.{_signature(settings, public_id)}"


def visitor_of(session: Session, settings: Settings, request: Request) -> WebchatVisitor | None:
    """The visitor an `Authorization: Bearer` token stands for; None when it is
    missing, forged, or names a visitor this shop does not have."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    version, _, rest = token.strip().partition(".")
    public_id, _, signature = rest.partition(".")
    if version != TOKEN_VERSION or not public_id or len(public_id) > 32:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(settings, public_id).encode()):
        return None
    return session.scalars(select(WebchatVisitor).where(
        WebchatVisitor.public_id == public_id)).first()


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def origin_allowed(settings: Settings, request: Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    own = {_origin_of(settings.public_url), _origin_of(request.host_url)} - {""}
    return origin in own or origin in settings.webchat_allowed_origins


def cors_headers(request: Request) -> dict[str, str]:
    """What an allowed cross-origin caller needs; nothing for a same-site one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": "Retry-After"}


PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}
