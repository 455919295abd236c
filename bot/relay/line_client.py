"""LINE Messaging API through line-bot-sdk v3, used only by the worker.

The SDK's messaging package is imported on first use (`sdk()`): its models
take some 60 MB in every process that imports them, which a shop without LINE
should not carry (bench/live_burst.py holds the worker under 150 MB).
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import urllib3

from bot.config import Settings
from bot.i18n import _
from bot.relay.errors import SendError

if TYPE_CHECKING:
    from linebot.v3.messaging import ApiException, FlexMessage, ImageMessage, TextMessage

log = logging.getLogger("bot.relay.line")

MAX_MESSAGES_PER_CALL = 5


def sdk() -> ModuleType:
    """linebot.v3.messaging, imported when LINE is first used."""
    return importlib.import_module("linebot.v3.messaging")


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    picture_url: str | None


@dataclass(frozen=True, slots=True)
class Sent:
    id: str
    quote_token: str | None


class InvalidReplyToken(Exception):
    """LINE refused the reply token (used, expired, or from another bot)."""


class LineClient:
    def __init__(self, settings: Settings) -> None:
        token = settings.line_channel_access_token
        line = sdk()
        self._api_client = line.ApiClient(
            line.Configuration(host=settings.line_api_url, access_token=token))
        self._blob_client = line.ApiClient(
            line.Configuration(host=settings.line_data_api_url, access_token=token)
        )
        self.api = line.MessagingApi(self._api_client)
        self.blob = line.MessagingApiBlob(self._blob_client)

    def close(self) -> None:
        self._api_client.close()
        self._blob_client.close()

    def profile(self, user_id: str) -> Profile:
        with _translated("read the customer's LINE profile"):
            found = self.api.get_profile(user_id)
        return Profile(found.display_name, found.picture_url)

    def group_summary(self, group_id: str) -> Profile:
        with _translated("read the LINE group's name"):
            found = self.api.get_group_summary(group_id)
        return Profile(found.group_name, found.picture_url)

    def quota_left(self) -> int | None:
        """Pushes left this month; None when the plan has no limit."""
        with _translated("read LINE's monthly message quota"):
            quota = self.api.get_message_quota()
            if quota.type != "limited":
                return None
            used = self.api.get_message_quota_consumption().total_usage
        return max(0, int(quota.value or 0) - int(used or 0))

    def quota(self) -> tuple[int | None, int]:
        """This month's push limit (None when the plan has none) and pushes used."""
        with _translated("read LINE's monthly message quota"):
            quota = self.api.get_message_quota()
            used = self.api.get_message_quota_consumption().total_usage
        limit = int(quota.value or 0) if quota.type == "limited" else None
        return limit, int(used or 0)

    def group_member_name(self, group_id: str, user_id: str) -> str:
        with _translated("read a LINE group member's name"):
            return str(self.api.get_group_member_profile(group_id, user_id).display_name)

    def content(self, message_id: str) -> tuple[bytes, str]:
        with _translated("download the customer's file from LINE"):
            response = self.blob.get_message_content_with_http_info(message_id)
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        return bytes(response.data or b""), headers.get("content-type", "application/octet-stream")

    def reply(self, reply_token: str, messages: list[Any]) -> list[Sent]:
        line = sdk()
        try:
            result = self.api.reply_message(
                line.ReplyMessageRequest(reply_token=reply_token, messages=messages)
            )
        except line.ApiException as exc:
            if exc.status == 400 and "reply token" in _message_of(exc).lower():
                raise InvalidReplyToken(_message_of(exc)) from None
            raise _line_error(exc, "reply") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SendError(_("LINE could not be reached"), retryable=True,
                            detail=str(exc)) from None
        return [Sent(m.id, m.quote_token) for m in result.sent_messages]

    def push(self, to: str, messages: list[Any], retry_key: str) -> list[Sent]:
        line = sdk()
        try:
            result = self.api.push_message(
                line.PushMessageRequest(to=to, messages=messages), x_line_retry_key=retry_key
            )
        except line.ApiException as exc:
            if exc.status == 409:
                # The retry key was accepted before: the message went out on
                # an earlier try whose answer we lost. Do not send it again.
                log.info("LINE push with retry key %s was already accepted", retry_key)
                return []
            raise _line_error(exc, "push") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SendError(_("LINE could not be reached"), retryable=True,
                            detail=str(exc)) from None
        return [Sent(m.id, m.quote_token) for m in result.sent_messages]


def text_message(text: str, quote_token: str | None = None) -> TextMessage:
    message: TextMessage = sdk().TextMessage(text=text, quoteToken=quote_token)
    return message


FLEX_ALT_LIMIT = 400


def flex_message(alt_text: str, contents: dict[str, Any]) -> FlexMessage:
    """A Flex message from its JSON form (a bubble), as LINE's Flex docs write it."""
    message: FlexMessage = sdk().FlexMessage.from_dict(
        {"type": "flex", "altText": alt_text, "contents": contents})
    return message


def image_message(url: str) -> ImageMessage:
    message: ImageMessage = sdk().ImageMessage(originalContentUrl=url, previewImageUrl=url)
    return message


class _translated:
    """Turn SDK and network errors of a read call into SendError."""

    def __init__(self, doing: str) -> None:
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> None:
        if isinstance(exc, sdk().ApiException):
            raise _line_error(exc, self.doing) from None
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
            raise SendError(_("LINE could not be reached"), retryable=True,
                            detail=str(exc)) from None


def _message_of(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or b"{}")
    except ValueError:
        return str(exc.body or exc.reason or "")
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    details = body.get("details") if isinstance(body, dict) else None
    if details:
        message += " " + "; ".join(
            str(d.get("message", "")) for d in details if isinstance(d, dict))
    return message.strip() or str(exc.reason or "")


def _line_error(exc: ApiException, doing: str) -> SendError:
    status = int(exc.status or 0)
    message = _message_of(exc)
    detail = f"LINE {status} on {doing}: {message}"
    if status == 429 and "monthly limit" in message.lower():
        return SendError(
            _("LINE's monthly message limit for this Official Account is used up, so LINE "
            "refused the push. Upgrade the LINE OA plan or wait for next month; replies "
            "sent within a minute of the customer's next message still go through free."),
            retryable=False, detail=detail,
        )
    if status == 429 or status >= 500:
        return SendError(_("LINE is busy right now"), retryable=True, detail=detail)
    if status in (401, 403):
        return SendError(
            _("LINE refused the channel access token: check LINE_CHANNEL_ACCESS_TOKEN in the "
            "LINE Developers console."), retryable=False, detail=detail,
        )
    if status == 404:
        return SendError(_("LINE does not know this customer or message any more"),
                         retryable=False, detail=detail)
    if status == 400 and "not a friend" in message.lower():
        return SendError(_("the customer has blocked the shop's LINE account"),
                         retryable=False, detail=detail)
    return SendError(_("LINE refused the message: {message}").format(message=message),
                     retryable=False, detail=detail)
