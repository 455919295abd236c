"""Endpoint logic behind FakeGraph: reads, the Send API, private and public replies.

Every method here runs with the fake's lock held (FakeGraph._dispatch takes it), so the
state below is read and changed consistently between concurrent requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.fakes import _graph_model as model
from bot.fakes._graph_model import (
    PRIVATE_REPLY_WINDOW,
    Comment,
    Failure,
    GraphCall,
    GraphDelivery,
    Node,
    compact,
    graph_time,
    new_message_id,
    requested_fields,
    select,
)
from bot.fakes._graph_send import (
    Messaging,
    Outgoing,
    check_window,
    parse_message,
    parse_messaging,
    parse_recipient,
)
from bot.fakes._wsgi import UploadedFile

_PEOPLE = frozenset({"messenger_user", "instagram_user"})


class GraphCore:
    """State and endpoint handlers; FakeGraph adds the test helpers and the WSGI entry."""

    page_id: str
    instagram_account_id: str
    human_agent_allowed: bool
    calls: list[GraphCall]
    delivered: list[GraphDelivery]
    _clock: Callable[[], float]
    _nodes: dict[str, Node]
    _comments: dict[str, Comment]
    _instagram_ids: set[str]
    _last_wrote: dict[str, float]
    _unavailable: set[str]
    _failures: dict[str, list[Failure]]
    _next_comment: int

    def _take_failure(self, endpoint: str) -> Failure | None:
        queue = self._failures.get(endpoint)
        return queue.pop(0) if queue else None

    # ----------------------------------------------------------------- GET /{id}
    def _is_person(self, object_id: str) -> bool:
        node = self._nodes.get(object_id)
        return (node is not None and node.kind in _PEOPLE) or object_id in self._last_wrote \
            or object_id in self._unavailable or object_id in self._instagram_ids

    def _read(self, object_id: str, params: dict[str, Any]) -> dict[str, Any]:
        object_id = self.page_id if object_id == "me" else object_id  # a Page token's "me"
        failure = self._take_failure("profile" if self._is_person(object_id) else "object")
        if failure is not None:
            raise failure.error()
        names = requested_fields(params.get("fields"))
        comment = self._comments.get(object_id)
        if comment is not None and not comment.removed:
            return select(object_id, self._comment_node(comment), names)
        node = self._nodes.get(object_id)
        if node is None:
            raise model.no_object("GET", object_id)
        return select(object_id, node, names)

    def _comment_node(self, comment: Comment) -> Node:
        """A comment as Graph shows it; `can_reply_privately` follows the private-reply rules."""
        if comment.platform == "instagram":
            values = compact({
                "text": comment.message, "timestamp": graph_time(comment.created_time),
                "from": {"id": comment.from_id},
                "media": {"id": comment.post_id} if comment.post_id else None,
            })
            return Node("IGComment", "comment", model.IG_COMMENT_FIELDS,
                        ("timestamp", "text"), values)
        can_reply = not comment.private_replied and comment.from_id != self.page_id and (
            self._clock() - comment.created_time <= PRIVATE_REPLY_WINDOW)
        values = compact({
            "message": comment.message, "created_time": graph_time(comment.created_time),
            "from": {"id": comment.from_id}, "can_reply_privately": can_reply,
        })
        return Node("Comment", "comment", model.FB_COMMENT_FIELDS,
                    ("created_time", "from", "message"), values)

    # ----------------------------------------------------------------- POST /me/messages
    def _send(self, params: dict[str, Any], files: list[UploadedFile]) -> dict[str, Any]:
        failure = self._take_failure("messages")
        if failure is not None and not failure.deliver:
            raise failure.error()
        recipient = parse_recipient(params)
        messaging = parse_messaging(params)
        if recipient.key == "comment_id":
            result = self._private_reply(recipient.value, params, files, messaging)
        else:
            result = self._message(recipient.value, params, files, messaging)
        if failure is not None:  # delivered, but the client is told it failed
            raise failure.error()
        return result

    def _message(
        self, user_id: str, params: dict[str, Any], files: list[UploadedFile],
        messaging: Messaging,
    ) -> dict[str, Any]:
        instagram = user_id in self._instagram_ids
        outgoing = parse_message(params, files, instagram=instagram)
        if user_id in self._unavailable:
            raise model.unavailable()
        refused = check_window(self._clock(), self._last_wrote.get(user_id), messaging,
                               human_agent_allowed=self.human_agent_allowed)
        if refused is not None:
            raise refused
        delivery = self._record("message", "instagram" if instagram else "messenger",
                                user_id, outgoing, messaging, user_id)
        return {"recipient_id": user_id, "message_id": delivery.message_id}

    def _private_reply(
        self, comment_id: str, params: dict[str, Any], files: list[UploadedFile],
        messaging: Messaging,
    ) -> dict[str, Any]:
        """One private reply per comment, within 7 days of it, whatever the DM window."""
        comment = self._comments.get(comment_id)
        if comment is None or comment.removed:
            raise model.no_object("POST", comment_id)
        instagram = comment.platform == "instagram"
        outgoing = parse_message(params, files, instagram=instagram)
        if comment.private_replied:
            raise model.already_replied()
        if self._clock() - comment.created_time > PRIVATE_REPLY_WINDOW:
            raise model.too_late_to_reply()
        if comment.messaging_id in self._unavailable:
            raise model.unavailable()
        comment.private_replied = True
        delivery = self._record("private_reply", "instagram" if instagram else "messenger",
                                comment_id, outgoing, messaging, comment.messaging_id)
        return {"recipient_id": comment.messaging_id, "message_id": delivery.message_id}

    def _record(
        self, kind: str, channel: str, recipient: str, outgoing: Outgoing,
        messaging: Messaging, user_id: str,
    ) -> GraphDelivery:
        delivery = GraphDelivery(
            kind=kind, channel=channel, recipient=recipient, text=outgoing.text,
            attachment_url=outgoing.attachment_url, messaging_type=messaging.messaging_type,
            tag=messaging.tag, message_id=new_message_id(), user_id=user_id,
            attachment_type=outgoing.attachment_type, attachment_data=outgoing.attachment_data,
            at=self._clock(),
        )
        self.delivered.append(delivery)
        return delivery

    # ----------------------------------------------------------------- public replies
    def _comments_page(self, object_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """``GET /{post-or-video}/comments``: the comments registered with that `post_id`
        (the id as given, or its part after the Page id), oldest first, in pages with
        cursors, as Graph pages them (``limit``, ``after``)."""
        wanted = {object_id, object_id.rsplit("_", maxsplit=1)[-1]}
        found = sorted((c for c in self._comments.values()
                        if c.post_id and {c.post_id, c.post_id.split("_")[-1]} & wanted
                        and not c.removed),
                       key=lambda c: (c.created_time, c.comment_id))
        limit = max(1, min(int(params.get("limit") or 25), 100))
        start = int(params["after"]) if str(params.get("after") or "").isdigit() else 0
        page = found[start:start + limit]
        body: dict[str, Any] = {"data": [
            {"id": c.comment_id, "message": c.message, "created_time": graph_time(c.created_time),
             "from": {"id": c.from_id, "name": c.from_name}} for c in page]}
        if page:
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
            if start + len(page) < len(found):
                body["paging"]["next"] = f"https://graph.invalid/{object_id}/comments"
        return body

    def _public_reply(self, comment_id: str, edge: str, params: dict[str, Any]) -> dict[str, Any]:
        """``POST /{comment}/comments`` on Facebook, ``POST /{comment}/replies`` on Instagram.

        The other platform's edge does not exist on that object, so it answers 100 / 33
        like an unknown id: a relay that mixes them up finds out in tests.
        """
        failure = self._take_failure("comment_reply")
        if failure is not None and not failure.deliver:
            raise failure.error()
        comment = self._comments.get(comment_id)
        wanted_edge = "replies" if comment and comment.platform == "instagram" else "comments"
        if comment is None or comment.removed or edge != wanted_edge:
            raise model.no_object("POST", comment_id)
        text = params.get("message")
        text = str(text) if isinstance(text, str | int | float) else ""
        if not text.strip():
            raise model.bad_param("The parameter message is required")
        new_id = self._new_comment_id(comment)
        self._comments[new_id] = Comment(
            new_id, self.instagram_account_id if edge == "replies" else self.page_id,
            self._clock(), comment.platform, comment.post_id, text, self.page_id)
        self.delivered.append(GraphDelivery(
            kind="comment_reply", channel=f"{comment.platform}_comment", recipient=comment_id,
            text=text, attachment_url=None, messaging_type=None, tag=None, message_id=new_id,
            at=self._clock(),
        ))
        if failure is not None:
            raise failure.error()
        return {"id": new_id}

    def _new_comment_id(self, comment: Comment) -> str:
        """Facebook: ``{post}_{comment}``, as in feed webhooks; Instagram: a bare 17-digit id."""
        self._next_comment += 1
        if comment.platform == "instagram":
            return f"18{self._next_comment % 10**15:015d}"
        if comment.post_id:
            post = comment.post_id.rsplit("_", 1)[-1]
        else:
            post = comment.comment_id.split("_", 1)[0]
        return f"{post}_{self._next_comment}"
