"""The fake Meta Graph API answers `requests` over loopback the way Meta does.

Time is a settable clock, so the 24-hour window, HUMAN_AGENT's 7 days and the private
reply's 7 days are crossed without sleeping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.fakes.graph import FakeGraph
from bot.fakes.line import tiny_png
from bot.fakes.server import serve_in_thread

TOKEN = "page-test-token"
VERSION = "v23.0"
PAGE = "108234567890123"
IG_ACCOUNT = "17841406234567890"
SOMSRI = "7234567890123456"  # Messenger PSID
ANAN = "25123456789012345"  # Messenger PSID
PLOY = "8123456789012345"  # IGSID
KAN = "6543210987654321"  # IGSID
FB_POST = "108234567890123_122145678901234567"
FB_COMMENT = "122145678901234567_4977139431097188"
FB_COMMENTER = "8765432109876543"
IG_MEDIA = "16011746664441947"
IG_COMMENT = "17177875208076229"
BASE = 1749881100.0  # 2025-06-14 13:05 (UTC+7), the fixtures' base time
HOUR = 3600.0
DAY = 24 * HOUR


class FakeClock:
    """A settable epoch clock: tests move it instead of sleeping through a window."""

    def __init__(self) -> None:
        self.now = BASE

    def __call__(self) -> float:
        return self.now


_CLOCK = FakeClock()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeGraph, str]]:
    fake = FakeGraph(TOKEN, clock=_CLOCK)
    with serve_in_thread(fake.wsgi_app) as server:
        yield fake, server.url


@pytest.fixture
def clock() -> FakeClock:
    _CLOCK.now = BASE
    return _CLOCK


@pytest.fixture
def graph(served: tuple[FakeGraph, str], clock: FakeClock) -> FakeGraph:
    fake, _ = served
    fake.reset()
    return fake


@pytest.fixture
def root(served: tuple[FakeGraph, str]) -> str:
    return f"{served[1]}/{VERSION}"


def send(root: str, body: dict[str, Any], token: str = TOKEN) -> requests.Response:
    """The Send API as the production client calls it: JSON body, token in the query."""
    return requests.post(f"{root}/me/messages", params={"access_token": token}, json=body,
                         timeout=5)


def text_to(user: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"recipient": {"id": user}, "messaging_type": "RESPONSE", "message": {"text": text},
            **extra}


def error_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["fbtrace_id"] and error["type"]
    return error


# ----------------------------------------------------------------- lookups
def test_profiles_answer_only_the_fields_asked_for(graph: FakeGraph, root: str) -> None:
    graph.add_messenger_user(SOMSRI, "Somsri", "Jaidee", profile_pic="https://cdn.example/s.jpg")
    graph.add_instagram_user(PLOY, "Ploy P.", "ploy.pk")
    auth = {"access_token": TOKEN}

    full = requests.get(f"{root}/{SOMSRI}", timeout=5,
                        params={**auth, "fields": "first_name,last_name,profile_pic"})
    only_name = requests.get(f"{root}/{SOMSRI}", params={**auth, "fields": "name"}, timeout=5)
    instagram = requests.get(f"{root}/{PLOY}", params={**auth, "fields": "name,username"},
                             timeout=5)
    unknown_field = requests.get(f"{root}/{PLOY}", params={**auth, "fields": "email"}, timeout=5)
    stranger = requests.get(f"{root}/{ANAN}", params={**auth, "fields": "name"}, timeout=5)

    assert full.json() == {"first_name": "Somsri", "last_name": "Jaidee",
                           "profile_pic": "https://cdn.example/s.jpg", "id": SOMSRI}
    assert only_name.json() == {"name": "Somsri Jaidee", "id": SOMSRI}
    assert instagram.json() == {"name": "Ploy P.", "username": "ploy.pk", "id": PLOY}
    assert error_of(unknown_field)["code"] == 100
    missing = error_of(stranger)
    assert (missing["code"], missing["error_subcode"]) == (100, 33)
    assert f"Object with ID '{ANAN}' does not exist" in missing["message"]


def test_posts_and_media_answer_only_the_fields_asked_for(graph: FakeGraph, root: str) -> None:
    graph.add_post(FB_POST, "ต่างหูใหม่ A01", "https://www.facebook.com/p/1",
                   full_picture="https://cdn.example/post.jpg", created_time=BASE)
    graph.add_media(IG_MEDIA, "กระเป๋าสาน E05", "https://www.instagram.com/p/X/",
                    media_url="https://cdn.example/media.jpg", timestamp=BASE)
    auth = {"access_token": TOKEN}

    post = requests.get(f"{root}/{FB_POST}", timeout=5, params={
        **auth, "fields": "message,permalink_url,full_picture,created_time"}).json()
    media = requests.get(f"{root}/{IG_MEDIA}", timeout=5, params={
        **auth, "fields": "caption,permalink,media_type,thumbnail_url"}).json()

    assert post == {"message": "ต่างหูใหม่ A01", "permalink_url": "https://www.facebook.com/p/1",
                    "full_picture": "https://cdn.example/post.jpg",
                    "created_time": "2025-06-14T06:05:00+0000", "id": FB_POST}
    # thumbnail_url has no value for an image: absent, as Graph leaves it out.
    assert media == {"caption": "กระเป๋าสาน E05", "permalink": "https://www.instagram.com/p/X/",
                     "media_type": "IMAGE", "id": IG_MEDIA}


# ----------------------------------------------------------------- Send API and windows
def test_send_inside_the_window_is_delivered(graph: FakeGraph, root: str,
                                            clock: FakeClock) -> None:
    graph.customer_wrote(SOMSRI)
    clock.now += 23 * HOUR

    answer = send(root, text_to(SOMSRI, "มีค่ะ ราคา 250 บาท"))
    # Form-encoded with JSON-encoded fields is accepted too; a text "123" stays text.
    form = requests.post(f"{root}/me/messages", timeout=5, data={
        "access_token": TOKEN, "recipient": json.dumps({"id": SOMSRI}),
        "messaging_type": "RESPONSE", "message": json.dumps({"text": "123"})})

    assert answer.status_code == 200, answer.text
    assert answer.json()["recipient_id"] == SOMSRI
    assert answer.json()["message_id"].startswith("m_")
    assert form.status_code == 200, form.text
    assert graph.texts_to(SOMSRI) == ["มีค่ะ ราคา 250 บาท", "123"]
    first = graph.delivered[0]
    assert (first.kind, first.channel, first.messaging_type, first.tag) == (
        "message", "messenger", "RESPONSE", None)
    assert first.message_id == answer.json()["message_id"]
    assert "access_token" not in graph.calls[0].params  # the token is never recorded


def test_outside_the_window_answers_code_10_subcode_2018278(graph: FakeGraph, root: str,
                                                            clock: FakeClock) -> None:
    graph.customer_wrote(SOMSRI, at=BASE)
    clock.now = BASE + 24 * HOUR + 1

    closed = error_of(send(root, text_to(SOMSRI, "ยังอยู่ไหมคะ")))
    never_wrote = error_of(send(root, text_to(ANAN, "สวัสดีค่ะ")))
    graph.customer_wrote(SOMSRI)  # a new message opens the window again
    reopened = send(root, text_to(SOMSRI, "ยังอยู่ค่ะ"))

    for error in (closed, never_wrote):
        assert (error["code"], error["error_subcode"]) == (10, 2018278)
        assert error["type"] == "OAuthException"
        assert "outside of allowed window" in error["message"]
    assert reopened.status_code == 200
    assert graph.texts_to(SOMSRI) == ["ยังอยู่ค่ะ"]


def test_human_agent_tag_needs_the_permission_and_ends_after_7_days(
    graph: FakeGraph, root: str, clock: FakeClock
) -> None:
    graph.customer_wrote(SOMSRI, at=BASE)
    clock.now = BASE + 3 * DAY
    tagged = text_to(SOMSRI, "ของส่งแล้วค่ะ", messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")

    without_permission = error_of(send(root, tagged))
    graph.human_agent_allowed = True
    with_permission = send(root, tagged)
    untagged = error_of(send(root, text_to(SOMSRI, "บอทตอบ")))
    clock.now = BASE + 7 * DAY + 1
    too_late = error_of(send(root, tagged))

    assert (without_permission["code"], without_permission["error_subcode"]) == (10, 2018278)
    assert with_permission.status_code == 200, with_permission.text
    assert (untagged["code"], untagged["error_subcode"]) == (10, 2018278)
    assert (too_late["code"], too_late["error_subcode"]) == (10, 2018278)
    assert [(d.messaging_type, d.tag) for d in graph.delivered] == [("MESSAGE_TAG", "HUMAN_AGENT")]


def test_instagram_counts_utf8_bytes_messenger_counts_characters(graph: FakeGraph,
                                                                 root: str) -> None:
    graph.add_instagram_user(PLOY, "Ploy P.", "ploy.pk")
    graph.customer_wrote(PLOY)
    graph.customer_wrote(SOMSRI)
    thai_400 = "ก" * 400  # 1,200 bytes of UTF-8
    thai_333 = "ก" * 333  # 999 bytes

    too_long = error_of(send(root, text_to(PLOY, thai_400)))
    fits = send(root, text_to(PLOY, thai_333))
    messenger = send(root, text_to(SOMSRI, thai_400))
    over_2000 = error_of(send(root, text_to(SOMSRI, "a" * 2001)))

    assert too_long["code"] == 100
    assert too_long["message"] == (
        "(#100) Length of param message[text] must be less than or equal to 1000")
    assert fits.status_code == 200 and messenger.status_code == 200
    assert over_2000["message"].endswith("less than or equal to 2000")
    assert [d.channel for d in graph.delivered] == ["instagram", "messenger"]


def test_a_person_who_blocked_the_page_is_unavailable(graph: FakeGraph, root: str) -> None:
    graph.customer_wrote(ANAN)
    graph.make_unavailable(ANAN)

    error = error_of(send(root, text_to(ANAN, "สวัสดีค่ะ")))

    assert error["code"] == 551 and "isn't available right now" in error["message"]
    assert graph.delivered == []


def test_picture_by_url_and_by_upload(graph: FakeGraph, root: str) -> None:
    graph.customer_wrote(SOMSRI)
    by_url = send(root, {"recipient": {"id": SOMSRI}, "messaging_type": "RESPONSE", "message": {
        "attachment": {"type": "image", "payload": {"url": "https://shop.example/p.jpg",
                                                    "is_reusable": False}}}})
    # The production client's upload: multipart with JSON-encoded fields and `filedata`.
    uploaded = requests.post(f"{root}/me/messages", params={"access_token": TOKEN}, timeout=5,
                             data={"recipient": json.dumps({"id": SOMSRI}),
                                   "messaging_type": "RESPONSE",
                                   "message": json.dumps({"attachment": {
                                       "type": "image", "payload": {"is_reusable": False}}})},
                             files={"filedata": ("p.png", tiny_png(), "image/png")})

    assert by_url.status_code == 200 and uploaded.status_code == 200, uploaded.text
    url_sent, upload_sent = graph.delivered
    assert url_sent.attachment_url == "https://shop.example/p.jpg" and url_sent.text is None
    assert upload_sent.attachment_data == tiny_png() and upload_sent.attachment_type == "image"


# ----------------------------------------------------------------- comments
def test_private_reply_once_per_comment_within_7_days(graph: FakeGraph, root: str,
                                                      clock: FakeClock) -> None:
    graph.add_comment(FB_COMMENT, FB_COMMENTER, BASE, post_id=FB_POST, message="CF A01 2 ค่ะ",
                      messaging_id=SOMSRI)
    graph.add_comment(IG_COMMENT, PLOY, BASE - 8 * DAY, platform="instagram", post_id=IG_MEDIA)
    body = {"recipient": {"comment_id": FB_COMMENT}, "message": {"text": "รับออเดอร์ค่ะ"}}

    first = send(root, body)
    second = error_of(send(root, body))
    too_old = error_of(send(root, {"recipient": {"comment_id": IG_COMMENT},
                                   "message": {"text": "สวัสดีค่ะ"}}))

    assert first.status_code == 200, first.text
    assert first.json()["recipient_id"] == SOMSRI  # the commenter's PSID, for their answer
    assert first.json()["message_id"].startswith("m_")
    assert (second["code"], second["message"]) == (10900, "(#10900) Activity already replied to")
    assert too_old["code"] == 10903
    delivery = graph.delivered[0]
    assert (delivery.kind, delivery.channel, delivery.recipient) == (
        "private_reply", "messenger", FB_COMMENT)
    assert graph.texts_to(FB_COMMENT) == graph.texts_to(SOMSRI) == ["รับออเดอร์ค่ะ"]


def test_public_replies_on_facebook_and_instagram(graph: FakeGraph, root: str) -> None:
    graph.add_comment(FB_COMMENT, FB_COMMENTER, BASE, post_id=FB_POST)
    graph.add_comment(IG_COMMENT, PLOY, BASE, platform="instagram", post_id=IG_MEDIA)
    auth = {"access_token": TOKEN}

    facebook = requests.post(f"{root}/{FB_COMMENT}/comments", params=auth,
                             json={"message": "ทักแชทได้เลยค่ะ"}, timeout=5)
    instagram = requests.post(f"{root}/{IG_COMMENT}/replies", params=auth,
                              json={"message": "123"}, timeout=5)
    wrong_edge = error_of(requests.post(f"{root}/{IG_COMMENT}/comments", params=auth,
                                        json={"message": "x"}, timeout=5))
    unknown = error_of(requests.post(f"{root}/999_111/comments", params=auth,
                                     json={"message": "x"}, timeout=5))

    assert facebook.status_code == 200, facebook.text
    post_part, new_part = facebook.json()["id"].split("_")
    assert post_part == "122145678901234567" and new_part.isdigit()
    ig_id = instagram.json()["id"]
    assert ig_id.isdigit() and len(ig_id) == 17
    assert graph.replies_to(FB_COMMENT) == ["ทักแชทได้เลยค่ะ"]
    assert graph.replies_to(IG_COMMENT) == ["123"]
    assert [d.channel for d in graph.delivered] == ["facebook_comment", "instagram_comment"]
    for error in (wrong_edge, unknown):
        assert (error["code"], error["error_subcode"]) == (100, 33)
        assert error["message"].startswith("Unsupported post request. Object with ID")


# ----------------------------------------------------------------- tokens, paths, failures
def test_tokens_and_versions_are_checked(graph: FakeGraph, served: tuple[FakeGraph, str],
                                         root: str) -> None:
    graph.customer_wrote(SOMSRI)

    wrong = error_of(send(root, text_to(SOMSRI, "hi"), token="revoked-token"))
    missing = error_of(requests.get(f"{root}/me", timeout=5))
    bearer = requests.get(f"{root}/me", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    old_version = error_of(send(f"{served[1]}/v2.0", text_to(SOMSRI, "hi")))

    assert (wrong["code"], wrong["error_subcode"]) == (190, 463)
    assert wrong["message"].startswith("Error validating access token")
    assert missing["code"] == 104
    assert bearer.json() == {"name": "Fake Page", "id": PAGE}
    assert old_version["code"] == 2500
    assert graph.delivered == []


def test_fail_next_rate_limit_then_success(graph: FakeGraph, root: str) -> None:
    graph.customer_wrote(SOMSRI)
    graph.fail_next("messages", status=400, code=613)
    graph.fail_next("profile", status=500, times=2)

    limited = error_of(send(root, text_to(SOMSRI, "one")))
    retried = send(root, text_to(SOMSRI, "one"))
    profile = requests.get(f"{root}/{SOMSRI}", params={"access_token": TOKEN}, timeout=5)

    assert limited["code"] == 613 and limited["is_transient"] is True
    assert limited["message"] == "(#613) Calls to this api have exceeded the rate limit."
    assert retried.status_code == 200
    assert profile.status_code == 500 and profile.json()["error"]["code"] == 2
    assert graph.texts_to(SOMSRI) == ["one"]


def test_fail_next_deliver_sends_but_reports_an_error(graph: FakeGraph, root: str) -> None:
    graph.customer_wrote(SOMSRI)
    graph.fail_next("messages", deliver=True)

    answer = send(root, text_to(SOMSRI, "went through"))

    assert answer.status_code == 500
    assert graph.texts_to(SOMSRI) == ["went through"]
    assert graph.wait_for(lambda: graph.calls[-1].status == 500)


def test_cdn_serves_registered_files_without_a_token(graph: FakeGraph,
                                                     served: tuple[FakeGraph, str]) -> None:
    path = graph.add_cdn_file("ig photo 1.png", tiny_png(), "image/png")

    found = requests.get(served[1] + path, timeout=5)
    unknown = requests.get(served[1] + "/_fake/cdn/nothing.jpg", timeout=5)
    graph.fail_next("cdn", status=403, message="URL signature expired")
    expired = requests.get(served[1] + path, timeout=5)

    assert path == "/_fake/cdn/ig%20photo%201.png"
    assert found.status_code == 200 and found.content == tiny_png()
    assert found.headers["Content-Type"].startswith("image/png")
    assert unknown.status_code == 404 and expired.status_code == 403
