"""The Meta Graph API through `requests`, used only by the worker.

Every Graph error becomes one plain sentence for the admin (SendError), with
rate limits and transient failures marked retryable.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

from bot.config import Settings
from bot.i18n import _
from bot.relay.errors import SendError

log = logging.getLogger("bot.relay.graph")

TIMEOUT = (5, 30)  # connect, read
RETRYABLE_CODES = {1, 2, 4, 17, 32, 341, 613}
TOKEN_EXPIRED = 190


class WindowClosed(SendError):
    """Meta's messaging window for this customer is closed (code 10 / 2018278)."""


class TokenExpired(SendError):
    """The Page access token no longer works (code 190)."""


class GraphClient:
    def __init__(self, settings: Settings) -> None:
        self.root = f"{settings.graph_api_url}/{settings.graph_api_version}"
        self.token = settings.facebook_page_access_token
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def get(self, path: str, fields: str, doing: str) -> dict[str, Any]:
        return self._call("GET", path, doing, params={"fields": fields})

    def get_edge(self, path: str, params: dict[str, str], doing: str) -> dict[str, Any]:
        """A page of an edge (``/{post}/comments``); follow ``paging.cursors.after``."""
        return self._call("GET", path, doing, params=params)

    def post(self, path: str, body: dict[str, Any], doing: str) -> dict[str, Any]:
        return self._call("POST", path, doing, json=body)

    def upload_message(self, recipient: dict[str, str], data: bytes, filename: str,
                       content_type: str, extra: dict[str, str], doing: str) -> dict[str, Any]:
        """Send API with the picture uploaded (no public URL needed)."""
        form = {"recipient": json.dumps(recipient),
                "message": json.dumps({"attachment": {"type": "image",
                                                      "payload": {"is_reusable": False}}}),
                **extra}
        return self._call("POST", "me/messages", doing, data=form,
                          files={"filedata": (filename, data, content_type)})

    def _call(self, method: str, path: str, doing: str, **kwargs: Any) -> dict[str, Any]:
        params = dict(kwargs.pop("params", None) or {})
        params["access_token"] = self.token
        try:
            response = self.session.request(method, f"{self.root}/{path}", params=params,
                                            timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise SendError(_("Facebook could not be reached"), retryable=True,
                            detail=str(exc)) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.ok and isinstance(body, dict) and "error" not in body:
            return body
        raise graph_error(response.status_code, body if isinstance(body, dict) else {}, doing)


def graph_error(status: int, body: dict[str, Any], doing: str) -> SendError:
    raw = body.get("error")
    error: dict[str, Any] = raw if isinstance(raw, dict) else {}
    code = int(error.get("code") or 0)
    subcode = int(error.get("error_subcode") or 0)
    message = str(error.get("message") or f"HTTP {status}")
    detail = f"Graph {status} code {code}/{subcode} on {doing}: {message}"
    if (code == 10 and subcode == 2018278) or "outside of allowed window" in message:
        return WindowClosed(_("the customer's 24-hour messaging window is closed"),
                            retryable=False, detail=detail)
    if code == TOKEN_EXPIRED:
        return TokenExpired(
            _("the Facebook Page token has expired or was revoked: the owner must create a new "
              "one and set FACEBOOK_PAGE_ACCESS_TOKEN"), retryable=False, detail=detail)
    if code == 551:
        return SendError(_("this person isn't available on Messenger right now (they may have "
                         "blocked the Page or deleted their account)"), retryable=False,
                         detail=detail)
    if code == 10900:
        return SendError(_("this comment already got its one private reply"), retryable=False,
                         detail=detail)
    if code == 10903:
        return SendError(_("a private reply is only possible within 7 days of the comment"),
                         retryable=False, detail=detail)
    if code in RETRYABLE_CODES or status >= 500 or error.get("is_transient"):
        return SendError(_("Facebook is busy right now"), retryable=True, detail=detail)
    if code == 100 and subcode == 33:
        return SendError(_("Facebook says this no longer exists (deleted, or hidden)"),
                         retryable=False, detail=detail)
    if code in (200, 10, 3):
        return SendError(_("the Page is not allowed to do this (check the app's permissions)"),
                         retryable=False, detail=detail)
    return SendError(_("Facebook refused it: {message}").format(message=message),
                     retryable=False, detail=detail)
