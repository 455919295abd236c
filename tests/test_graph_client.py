"""Graph API errors in plain words, and Meta's messaging policy (unit tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import responses

from bot.config import Settings
from bot.relay.errors import SendError
from bot.relay.graph_client import GraphClient, TokenExpired, WindowClosed
from bot.relay.policy import messaging_permission, private_reply_allowed

ROOT = "https://graph.example.test"


def _client() -> GraphClient:
    return GraphClient(Settings(graph_api_url=ROOT, facebook_page_access_token="page-token"))


def _error(code: int, subcode: int | None = None, message: str = "x") -> dict[str, object]:
    error: dict[str, object] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@responses.activate
def test_the_page_token_goes_with_every_call_and_answers_come_back() -> None:
    responses.post(f"{ROOT}/v23.0/me/messages", json={"recipient_id": "1", "message_id": "m_1"},
                   match=[responses.matchers.query_param_matcher({"access_token": "page-token"})])
    assert _client().post("me/messages", {"recipient": {"id": "1"}}, "send")["message_id"] == "m_1"


@pytest.mark.parametrize(("status", "body", "kind", "retryable", "words"), [
    (400, _error(10, 2018278, "(#10) This message is sent outside of allowed window."),
     WindowClosed, False, "24-hour"),
    (400, _error(190, 463), TokenExpired, False, "FACEBOOK_PAGE_ACCESS_TOKEN"),
    (400, _error(551, 1545041), SendError, False, "isn't available"),
    (400, _error(10900), SendError, False, "one private reply"),
    (400, _error(4), SendError, True, "busy"),
    (400, _error(613), SendError, True, "busy"),
    (500, {}, SendError, True, "busy"),
    (400, _error(100, 33), SendError, False, "no longer exists"),
])
@responses.activate
def test_graph_errors_become_one_plain_sentence(
    status: int, body: dict[str, object], kind: type[SendError], retryable: bool, words: str,
) -> None:
    responses.post(f"{ROOT}/v23.0/me/messages", status=status, json=body)
    with pytest.raises(kind) as raised:
        _client().post("me/messages", {}, "send the answer")
    assert raised.value.retryable is retryable
    assert words in raised.value.reason and "\n" not in raised.value.reason


NOW = datetime(2026, 6, 14, 12, 0)


def test_inside_24_hours_answers_are_responses() -> None:
    permission = messaging_permission(NOW, NOW - timedelta(hours=23), human_agent_allowed=False,
                                      by_admin=True)
    assert permission.messaging_type == "RESPONSE" and permission.tag is None


def test_human_agent_tag_only_for_admins_with_the_permission_up_to_7_days() -> None:
    last = NOW - timedelta(days=3)
    tagged = messaging_permission(NOW, last, human_agent_allowed=True, by_admin=True)
    assert (tagged.messaging_type, tagged.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")
    for allowed, by_admin, when in ((False, True, last), (True, False, last),
                                    (True, True, NOW - timedelta(days=8))):
        with pytest.raises(SendError, match="window"):
            messaging_permission(NOW, when, human_agent_allowed=allowed, by_admin=by_admin)


def test_private_replies_once_and_within_7_days() -> None:
    private_reply_allowed(NOW, NOW - timedelta(days=6), already_replied=False)
    with pytest.raises(SendError, match="one private reply"):
        private_reply_allowed(NOW, NOW - timedelta(days=1), already_replied=True)
    with pytest.raises(SendError, match="7 days"):
        private_reply_allowed(NOW, NOW - timedelta(days=8), already_replied=False)
