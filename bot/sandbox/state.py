"""The JSON the sandbox page polls: topics, the admin chat, each customer's phone, the log.

Built from what the fakes recorded (what the relay really sent) and what people
typed on the page; the page renders every text with textContent. `version`
changes whenever anything may have changed, so an unchanged poll is tiny.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import select

from bot.fakes.graph import GraphDelivery
from bot.fakes.line import Delivered
from bot.fakes.telegram import SentMessage
from bot.runtime import Runtime
from bot.sandbox import Sandbox
from bot.sandbox.cast import DEMO_MEDIA_ID, DEMO_POST_ID, PEOPLE, Person
from db.models import Conversation

_TAGS = re.compile(r"<[^>]+>")
GENERAL = 0  # the page's id for the group's General topic


def plain(text: str | None) -> str:
    """Telegram shows HTML as formatting; the page shows it as plain text."""
    return unescape(_TAGS.sub("", text or ""))


def build(runtime: Runtime, sandbox: Sandbox) -> dict[str, Any]:
    version = sandbox.version
    with sandbox.lock:
        customers_said = list(sandbox.customers_said)
        admins_said = list(sandbox.admins_said)
        calls = list(sandbox.calls)
        stamps = {k: list(v) for k, v in sandbox.stamps.items()}
    return {
        "version": version,
        "topics": _topics(runtime, sandbox),
        "admin_chat": _admin_chat(runtime, sandbox, admins_said),
        "customers": _customers(sandbox, customers_said, stamps),
        "people": _people_topics(runtime),
        "calls": [{"seq": c.seq, "platform": c.platform, "method": c.method, "what": c.what,
                   "status": c.status} for c in calls],
    }


def _topics(runtime: Runtime, sandbox: Sandbox) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        rows = session.execute(select(Conversation.topic_id, Conversation.unread_count)
                               .where(Conversation.topic_id.is_not(None))).all()
    unread = {int(topic or 0): count for topic, count in rows}
    topics = [{"id": GENERAL, "name": "General", "unread": 0, "closed": False,
               "deleted": False}]
    topics += [{"id": t.thread_id, "name": t.name, "unread": unread.get(t.thread_id, 0),
                "closed": t.closed, "deleted": t.deleted}
               for t in sorted(sandbox.telegram.topics.values(), key=lambda t: t.thread_id)]
    return topics


def thread_key(person: Person) -> str:
    """The relay's key for the person's conversation (comments: one per post)."""
    if person.channel == "facebook_comment":
        return f"{person.external_id}:{DEMO_POST_ID}"
    if person.channel == "instagram_comment":
        return f"{person.external_id}:{DEMO_MEDIA_ID}"
    return person.external_id


def _people_topics(runtime: Runtime) -> dict[str, int | None]:
    """Each person's topic in the admin group, once the relay has opened one."""
    with runtime.sessions() as session:
        rows = session.execute(select(Conversation.channel, Conversation.thread_key,
                                      Conversation.topic_id)).all()
    topics = {(channel, key): topic for channel, key, topic in rows}
    return {p.key: topics.get((p.channel, thread_key(p))) for p in PEOPLE}


def _buttons(markup: dict[str, Any] | None) -> list[list[dict[str, str]]]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [[{"text": str(b.get("text", "")),
              **({"url": str(b["url"])} if b.get("url") else
                 {"data": str(b.get("callback_data", ""))})} for b in row] for row in rows]


def _bot_message(chat_id: int, m: SentMessage) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": m.message_id, "thread": m.thread_id or GENERAL, "from": "bot", "kind": m.kind,
        "text": plain(m.text), "buttons": _buttons(m.reply_markup), "edited": bool(m.edit_history),
        "pinned": m.pinned, "reply_to": m.reply_to_message_id}
    if m.kind in ("photo", "document", "video", "audio", "voice", "sticker"):
        link = m.file_ref if m.file is None or not m.file else \
            f"/sandbox/file/telegram/{chat_id}/{m.message_id}"
        shown["picture" if m.kind in ("photo", "sticker") else "file"] = link
        shown["file_name"] = m.file_name or m.kind
    if m.kind in ("location", "venue"):
        shown["text"] = f"📍 {m.title or ''} {m.address or ''} ({m.latitude}, {m.longitude})"
    return shown


def _admin_chat(runtime: Runtime, sandbox: Sandbox,
                admins_said: list[Any]) -> list[dict[str, Any]]:
    chat = runtime.settings.telegram_admin_chat_id
    reacted: dict[int, str] = {}
    for chat_id, message_id, emojis in list(sandbox.telegram.reactions):
        if chat_id == chat:
            reacted[message_id] = "".join(emojis)
    shown = [_bot_message(chat, m) for m in sandbox.telegram.messages_in(chat)]
    shown += [{"id": a.message_id, "thread": a.thread or GENERAL, "from": a.admin, "kind": "text",
               "text": a.text, "buttons": [], "edited": False, "pinned": False,
               "reply_to": a.reply_to, "reaction": reacted.get(a.message_id, "")}
              for a in admins_said]
    return sorted(shown, key=lambda m: int(m["id"]))


def _line_message(message: dict[str, Any]) -> dict[str, Any]:
    kind = str(message.get("type"))
    if kind == "text":
        return {"text": str(message.get("text", ""))}
    if kind == "image":
        return {"text": "", "picture": message.get("originalContentUrl")}
    if kind == "flex":
        lines: list[str] = [str(message.get("altText", ""))]
        pictures: list[str] = []
        _flex_walk(message.get("contents"), lines, pictures)
        return {"text": "\n".join(line for line in lines if line), "kind": "flex",
                "picture": pictures[0] if pictures else None}
    if kind == "template":
        return {"text": str(message.get("altText", "")), "kind": "template"}
    return {"text": f"[{kind}]", "kind": kind}


def _flex_walk(node: Any, lines: list[str], pictures: list[str]) -> None:
    """A Flex bubble's readable text, top to bottom, and its pictures."""
    if isinstance(node, list):
        for item in node:
            _flex_walk(item, lines, pictures)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "image" and node.get("url"):
        pictures.append(str(node["url"]))
    if node.get("type") in ("text", "span") and node.get("text"):
        lines.append(str(node["text"]))
    if node.get("type") == "button" and isinstance(node.get("action"), dict):
        lines.append(f"[{node['action'].get('label', '')}]")
    for key in ("header", "hero", "body", "footer", "contents"):
        if key in node:
            _flex_walk(node[key], lines, pictures)


def _graph_message(index: int, d: GraphDelivery) -> dict[str, Any]:
    shown: dict[str, Any] = {"text": d.text or ""}
    if d.attachment_type == "image":
        shown["picture"] = d.attachment_url or f"/sandbox/file/graph/{index}"
    elif d.attachment_type:
        shown["text"] = f"[{d.attachment_type}]"
    return shown


def _customers(sandbox: Sandbox, said: list[Any],
               stamps: dict[str, list[int]]) -> dict[str, list[dict[str, Any]]]:
    """Each person's phone: what they sent and what the shop's account sent them."""
    feeds: dict[str, list[tuple[int, dict[str, Any]]]] = {p.key: [] for p in PEOPLE}
    comments: dict[str, str] = {}
    for s in said:
        feeds[s.person].append((s.seq, {"from": "customer", "text": s.text,
                                        "picture": s.picture}))
        if s.comment_id:
            comments[s.comment_id] = s.person
    by_id = {p.external_id: p.key for p in PEOPLE if p.channel in ("line", "telegram")}
    by_id.update({p.external_id: p.key for p in PEOPLE
                  if p.channel in ("messenger", "instagram_dm")})
    line: list[Delivered] = list(sandbox.line.delivered)
    for index, d in enumerate(line):
        if d.to in by_id and index < len(stamps["LINE"]):
            for message in d.messages:
                shown = {"from": "shop", "via": d.via, **_line_message(message)}
                feeds[by_id[d.to]].append((stamps["LINE"][index], shown))
    graph: list[GraphDelivery] = list(sandbox.graph.delivered)
    for index, g in enumerate(graph):
        if index >= len(stamps["Graph"]):
            continue
        key = comments.get(g.recipient) if g.kind != "message" else by_id.get(g.recipient)
        if key is not None:
            via = {"message": "message", "private_reply": "private reply",
                   "comment_reply": "public reply"}[g.kind]
            feeds[key].append((stamps["Graph"][index],
                               {"from": "shop", "via": via, **_graph_message(index, g)}))
    sent: list[SentMessage] = list(sandbox.telegram.sent)
    for index, m in enumerate(sent):
        key = by_id.get(str(m.chat_id))
        if key is not None and not m.deleted and index < len(stamps["Telegram"]):
            message = _bot_message(m.chat_id, m)
            feeds[key].append((stamps["Telegram"][index],
                               {"from": "shop", "via": "message", "text": message["text"],
                                "picture": message.get("picture")}))
    return {key: [item for _, item in sorted(feed, key=lambda pair: pair[0])]
            for key, feed in feeds.items()}
