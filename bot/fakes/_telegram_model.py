"""Records and JSON builders behind FakeTelegram (kept apart to keep telegram.py short)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

SEND_KINDS: dict[str, str] = {
    "sendmessage": "text",
    "sendphoto": "photo",
    "senddocument": "document",
    "sendvideo": "video",
    "sendaudio": "audio",
    "sendvoice": "voice",
    "sendsticker": "sticker",
    "sendlocation": "location",
    "sendvenue": "venue",
}

# Parameters that are free text: never JSON-decode them, or a topic named "123" or a
# message "true" would arrive as a number or a boolean.
TEXT_PARAMS = frozenset(
    {
        "text", "caption", "name", "title", "address", "emoji", "query_id", "file_id",
        "callback_query_id", "url", "secret_token", "icon_custom_emoji_id", "parse_mode",
        "photo", "document", "video", "audio", "voice", "sticker", "thumbnail",
        "foursquare_id", "foursquare_type", "google_place_id", "google_place_type",
        "business_connection_id", "message_effect_id", "inline_message_id", "ip_address",
    }
)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "tg-emoji", "code", "pre", "blockquote",
    }
)
_TAG = re.compile(r"<(/?)([^\s>/]*)([^>]*)>")
_TAG_NAME = re.compile(r"<([^\s>]*)")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional `parameters`."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    """A 400 with Telegram's "Bad Request: ..." prefix."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Call:
    """One Bot API request as the fake received it (params already decoded)."""

    method: str
    params: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # multipart field -> file name
    status: int = 200
    error: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent; `edit_history` holds the earlier texts, oldest first."""

    chat_id: int
    message_id: int
    thread_id: int | None
    kind: str
    text: str | None = None
    reply_to_message_id: int | None = None
    reply_markup: dict[str, Any] | None = None
    file: bytes | None = None
    file_name: str | None = None
    file_id: str | None = None
    file_ref: str | None = None  # file_id or URL the bot passed instead of uploading
    latitude: float | None = None
    longitude: float | None = None
    title: str | None = None
    address: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] | None = None
    media_group_id: str | None = None
    date: int = 0
    deleted: bool = False
    pinned: bool = False
    edit_history: list[str | None] = field(default_factory=list)
    edit_date: int | None = None


@dataclass
class Topic:
    """A forum topic in the admin chat."""

    chat_id: int
    thread_id: int
    name: str
    icon_color: int = 7322096
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False


@dataclass
class StoredFile:
    """A file getFile can describe and the file endpoint can serve."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


def html_error(text: str) -> str | None:
    """Why Telegram would reject `text` with parse_mode HTML, or None if it parses.

    Covers the common failure of a relay: customer text with a raw "<" ("<3", "a<b")
    or an unsupported tag ("<br>"). Offsets are UTF-8 byte offsets, as Telegram reports.
    """
    stack: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        offset = len(text[:lt].encode())
        match = _TAG.match(text, lt)
        if match is None:
            name_match = _TAG_NAME.match(text, lt)
            name = name_match.group(1) if name_match else ""
            return f'Unsupported start tag "{name}" at byte offset {offset}'
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            if not stack:
                return f'Unexpected end tag "{name}" at byte offset {offset}'
            expected = stack.pop()
            if expected != name:
                return (
                    f'Unmatched end tag at byte offset {offset}, expected "</{expected}>", '
                    f'found "</{name}>"'
                )
        elif name not in _HTML_TAGS:
            return f'Unsupported start tag "{name}" at byte offset {offset}'
        elif name == "span" and "tg-spoiler" not in attrs:
            return f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
        else:
            stack.append(name)
        pos = match.end()
    if stack:
        return f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'
    return None


def check_text(text: str | None, parse_mode: str | None, *, caption: bool) -> None:
    """Raise the 400 Telegram gives for an empty, unparsable or too long text/caption."""
    if text is None or text == "":
        if caption:
            return
        raise bad_request("message text is empty")
    visible = text
    if (parse_mode or "").upper() == "HTML":
        if error := html_error(text):
            raise bad_request(f"can't parse entities: {error}")
        visible = html.unescape(_TAG.sub("", text))
    # Telegram counts the text after entity parsing; MarkdownV2 markup is not stripped
    # here, so a Markdown text near the limit is judged a little strictly.
    if not caption and len(visible) > TEXT_LIMIT:
        raise bad_request("message is too long")
    if caption and len(visible) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG from its IHDR chunk, or None for other formats."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def media_json(kind: str, msg: SentMessage, stored: StoredFile | None) -> dict[str, Any]:
    """The message fields for a media/location kind (photo sizes, document, venue...)."""
    if kind == "location":
        return {"location": {"latitude": msg.latitude, "longitude": msg.longitude}}
    if kind == "venue":
        location = {"latitude": msg.latitude, "longitude": msg.longitude}
        venue = {"location": location, "title": msg.title, "address": msg.address}
        return {"location": location, "venue": venue}
    if stored is None:
        return {}
    base: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if kind == "photo":
        width, height = png_size(stored.data) or (1280, 960)
        # Real Telegram returns several sizes, smallest first; the last is the original.
        thumb = dict(base, file_id=f"{stored.file_id}_thumb", width=min(width, 90))
        thumb.update(file_unique_id=f"{stored.file_unique_id}t", height=min(height, 90))
        return {"photo": [thumb, dict(base, width=width, height=height)]}
    named = dict(base, file_name=stored.file_name, mime_type=stored.mime_type)
    if kind == "document":
        return {"document": named}
    if kind == "video":
        return {"video": dict(named, width=1280, height=720, duration=1)}
    if kind == "audio":
        return {"audio": dict(named, duration=1)}
    if kind == "voice":
        # Telegram stores voice notes as OGG/Opus whatever the upload was labelled.
        return {"voice": dict(base, duration=1, mime_type="audio/ogg")}
    if kind == "sticker":
        sticker = dict(base, type="regular", width=512, height=512)
        return {"sticker": dict(sticker, is_animated=False, is_video=False)}
    return {}


_ADMIN_RIGHTS = {
    "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
    "can_delete_messages": True, "can_manage_video_chats": True,
    "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
    "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
    "can_delete_stories": False, "can_pin_messages": True, "can_manage_topics": True,
}
_RESTRICTED_RIGHTS = {
    "is_member": True, "until_date": 0, "can_edit_tag": False,
    **{
        f"can_{name}": False
        for name in (
            "change_info", "invite_users", "pin_messages", "send_messages", "send_polls",
            "send_other_messages", "add_web_page_previews", "manage_topics", "send_audios",
            "send_documents", "send_photos", "send_videos", "send_video_notes",
            "send_voice_notes",
        )
    },
}
MEMBER_EXTRAS: dict[str, dict[str, Any]] = {
    "creator": {"is_anonymous": False},
    "administrator": _ADMIN_RIGHTS,
    "member": {},
    "restricted": _RESTRICTED_RIGHTS,
    "left": {},
    "kicked": {"until_date": 0},
}
