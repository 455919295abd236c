"""Media kept in the database, and the signed URLs that let LINE fetch it.

LINE cannot take an upload: an image sent to a customer is a URL LINE
downloads. Each stored file gets an unguessable URL under PUBLIC_URL.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.orm import Session

from bot.config import Settings
from db.models import Media

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/mpeg": "mp3",
    "application/pdf": "pdf",
}


def keep(session: Session, shop_id: int, data: bytes, content_type: str,
         filename: str | None = None, stem: str = "file") -> Media:
    content_type = content_type.split(";", maxsplit=1)[0].strip() or "application/octet-stream"
    name = filename or f"{stem}.{EXTENSIONS.get(content_type, 'bin')}"
    media = Media(shop_id=shop_id, content_type=content_type, filename=name[:256],
                  size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data)
    session.add(media)
    session.flush()
    return media


def media_token(settings: Settings, media_id: int) -> str:
    key = (settings.line_channel_secret or settings.telegram_bot_token or "shoprelay").encode()
    return hmac.new(key, f"media:{media_id}".encode(), hashlib.sha256).hexdigest()[:32]


def public_media_url(settings: Settings, media: Media) -> str | None:
    if not settings.public_url:
        return None
    ext = media.filename.rsplit(".", 1)[-1] if "." in media.filename else "bin"
    token = media_token(settings, media.id)
    return f"{settings.public_url}/media/{media.id}/{token}.{ext}"
