"""The Bot API method handlers of FakeTelegram, one `_m_<method>` per supported method.

Each handler runs with the fake's lock held, takes the decoded parameters and the
uploaded files, and returns the `result` of the answer or raises ApiError.
"""

from __future__ import annotations

import time
from typing import Any

from bot.fakes import _telegram_model as model
from bot.fakes._telegram_core import (
    TelegramCore,
    float_param,
    int_param,
    opt_int_param,
    opt_str,
)
from bot.fakes._telegram_model import ApiError, SentMessage, Topic, bad_request, check_text
from bot.fakes._wsgi import UploadedFile

# Real long polls last up to 50 s; tests must stay fast, so the fake never waits longer.
MAX_LONG_POLL = 2.0
_CAPTIONED = frozenset({"photo", "document", "video", "audio", "voice"})

Files = list[UploadedFile]
Params = dict[str, Any]


class TelegramMethods(TelegramCore):
    """Bot API methods on top of TelegramCore's state."""

    # ------------------------------------------------------------------ sending
    def _send(self, method: str, params: Params, files: Files) -> dict[str, Any]:
        kind = model.SEND_KINDS[method.lower()]
        chat_id = self._chat_id(params)
        thread_id = opt_int_param(params, "message_thread_id")
        self._check_thread(chat_id, thread_id)
        msg = SentMessage(
            chat_id=chat_id,
            message_id=0,
            thread_id=thread_id,
            kind=kind,
            text=opt_str(params.get("text" if kind == "text" else "caption")),
            reply_to_message_id=self._reply_to(params),
            reply_markup=params.get("reply_markup") or None,
            parse_mode=opt_str(params.get("parse_mode")),
            entities=params.get("entities") or params.get("caption_entities"),
        )
        if kind == "text" or kind in _CAPTIONED:
            check_text(msg.text, msg.parse_mode, caption=kind != "text")
        if kind in ("location", "venue"):
            msg.latitude = float_param(params, "latitude")
            msg.longitude = float_param(params, "longitude")
            if kind == "venue":
                msg.title = opt_str(params.get("title"))
                msg.address = opt_str(params.get("address"))
                if not msg.title or not msg.address:
                    raise bad_request("venue title and address must be non-empty")
        elif kind != "text":
            self._attach(msg, params.get(kind), {f.field: f for f in files})
        self._check_rate(chat_id, 1)
        self._record(msg)
        return self._message_json(msg)

    def _m_sendMediaGroup(self, params: Params, files: Files) -> list[dict[str, Any]]:
        chat_id = self._chat_id(params)
        thread_id = opt_int_param(params, "message_thread_id")
        self._check_thread(chat_id, thread_id)
        media = params.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request("media is empty")
        self._counter += 1
        group_id = f"1{self._counter:017d}"
        by_field = {f.field: f for f in files}
        messages = []
        for index, item in enumerate(media):
            if not isinstance(item, dict) or item.get("type") not in _CAPTIONED:
                raise bad_request(f"unsupported media type in media group item {index}")
            msg = SentMessage(
                chat_id=chat_id,
                message_id=0,
                thread_id=thread_id,
                kind=str(item["type"]),
                text=opt_str(item.get("caption")),
                # Telegram attaches the reply to the first item of an album only.
                reply_to_message_id=self._reply_to(params) if index == 0 else None,
                parse_mode=opt_str(item.get("parse_mode")),
                entities=item.get("caption_entities"),
                media_group_id=group_id,
            )
            check_text(msg.text, msg.parse_mode, caption=True)
            self._attach(msg, item.get("media"), by_field)
            messages.append(msg)
        self._check_rate(chat_id, len(messages))
        for msg in messages:
            self._record(msg)
        return [self._message_json(msg) for msg in messages]

    # ------------------------------------------------------------------ editing
    def _m_editMessageText(self, params: Params, files: Files) -> dict[str, Any]:
        msg = self._edit_target(params)
        text = opt_str(params.get("text"))
        check_text(text, opt_str(params.get("parse_mode")), caption=False)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(msg, text, params)

    def _m_editMessageCaption(self, params: Params, files: Files) -> dict[str, Any]:
        msg = self._edit_target(params)
        caption = opt_str(params.get("caption"))
        check_text(caption, opt_str(params.get("parse_mode")), caption=True)
        if msg.kind not in _CAPTIONED:
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(msg, caption, params)

    def _m_editMessageReplyMarkup(self, params: Params, files: Files) -> dict[str, Any]:
        msg = self._edit_target(params)
        return self._apply_edit(msg, msg.text, params)

    def _m_deleteMessage(self, params: Params, files: Files) -> bool:
        msg = self._find(self._chat_id(params), int_param(params, "message_id"))
        if msg is not None:
            if msg.deleted:
                raise bad_request("message to delete not found")
            msg.deleted = True
        # Unknown ids are users' messages the fake never saw: deleting them succeeds.
        return True

    def _m_setMessageReaction(self, params: Params, files: Files) -> bool:
        chat_id = self._chat_id(params)
        message_id = int_param(params, "message_id")
        reaction = params.get("reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("reaction must be an array")
        emojis = [str(r.get("emoji") or r.get("custom_emoji_id") or "") for r in reaction]
        self.reactions.append((chat_id, message_id, emojis))
        return True

    def _m_pinChatMessage(self, params: Params, files: Files) -> bool:
        msg = self._find(self._chat_id(params), int_param(params, "message_id"))
        if msg is not None:
            msg.pinned = True
        return True

    def _m_answerCallbackQuery(self, params: Params, files: Files) -> bool:
        if not params.get("callback_query_id"):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    # ------------------------------------------------------------------ topics
    def _m_createForumTopic(self, params: Params, files: Files) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        if chat_id != self.admin_chat_id or not self._is_forum:
            raise bad_request("the chat is not a forum")
        name = opt_str(params.get("name")) or ""
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_NAME_INVALID")
        thread_id = self._new_id(chat_id)
        topic = Topic(
            chat_id=chat_id,
            thread_id=thread_id,
            name=name,
            icon_color=opt_int_param(params, "icon_color") or 7322096,
            icon_custom_emoji_id=opt_str(params.get("icon_custom_emoji_id")),
        )
        self.topics[thread_id] = topic
        # Telegram posts a "topic created" service message whose id is the thread id.
        self.service_messages.append(
            SentMessage(
                chat_id=chat_id,
                message_id=thread_id,
                thread_id=thread_id,
                kind="forum_topic_created",
                text=name,
                date=int(time.time()),
            )
        )
        result: dict[str, Any] = {
            "message_thread_id": thread_id,
            "name": name,
            "icon_color": topic.icon_color,
        }
        if topic.icon_custom_emoji_id:
            result["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        return result

    def _m_editForumTopic(self, params: Params, files: Files) -> bool:
        topic = self._topic(params)
        name = opt_str(params.get("name"))
        emoji = opt_str(params.get("icon_custom_emoji_id"))
        if (name is None or name == topic.name) and (
            emoji is None or emoji == topic.icon_custom_emoji_id
        ):
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name = name or topic.name
        topic.icon_custom_emoji_id = emoji if emoji is not None else topic.icon_custom_emoji_id
        return True

    def _m_closeForumTopic(self, params: Params, files: Files) -> bool:
        topic = self._topic(params)
        if topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = True
        return True

    def _m_reopenForumTopic(self, params: Params, files: Files) -> bool:
        topic = self._topic(params)
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    def _m_deleteForumTopic(self, params: Params, files: Files) -> bool:
        self._delete_topic(self._topic(params).thread_id)
        return True

    # ------------------------------------------------------------------ info
    def _m_getMe(self, params: Params, files: Files) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            # Privacy mode off: the relay must see admins' plain messages in the group.
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_getChat(self, params: Params, files: Files) -> dict[str, Any]:
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **self._chat_json(self._chat_id(params)),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {**dict.fromkeys(gifts, False), "gifts_from_channels": False},
        }

    def _m_getChatMember(self, params: Params, files: Files) -> dict[str, Any]:
        self._chat_id(params)
        user_id = int_param(params, "user_id")
        status = self._members.get(user_id, "left")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        if user_id == self.bot_id:
            user = self._bot_user()
        return {"status": status, "user": user, **model.MEMBER_EXTRAS[status]}

    def _m_getFile(self, params: Params, files: Files) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": params["file_id"],
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _m_setMyCommands(self, params: Params, files: Files) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be an array")
        self.commands = commands
        return True

    def _m_getMyCommands(self, params: Params, files: Files) -> list[dict[str, Any]]:
        return list(self.commands)

    # ------------------------------------------------------------------ updates
    def _m_setWebhook(self, params: Params, files: Files) -> bool:
        self.webhook_url = opt_str(params.get("url")) or ""
        self.webhook_secret = opt_str(params.get("secret_token"))
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _m_deleteWebhook(self, params: Params, files: Files) -> bool:
        self.webhook_url, self.webhook_secret = "", None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, params: Params, files: Files) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_getUpdates(self, params: Params, files: Files) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = opt_int_param(params, "offset")
        limit = opt_int_param(params, "limit") or 100
        timeout = min(float(opt_int_param(params, "timeout") or 0), MAX_LONG_POLL)
        if offset is not None and offset < 0:
            self._updates[:] = self._updates[offset:]
        elif offset is not None:
            # An offset confirms every update before it: Telegram forgets them for good.
            self._updates[:] = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self._updates and (remaining := deadline - time.monotonic()) > 0:
            # wait() releases the lock, so push_update can wake this long poll at once.
            self._cond.wait(remaining)
        return list(self._updates[: max(1, min(limit, 100))])
