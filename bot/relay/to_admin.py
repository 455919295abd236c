"""Worker jobs that post into the Telegram admin group.

`relay_to_admin` puts one stored customer message or event into the
conversation's forum topic, creating the topic (with the customer card) on
first contact and again if an admin deleted it. Without topics it posts in the
main chat under a header, and admins answer by replying.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from sqlalchemy import select, update
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    ReactionTypeEmoji,
    ReplyParameters,
)
from telegram import Message as TgMessage
from telegram.constants import ParseMode

from bot.i18n import N_, _
from bot.relay import render
from bot.relay.card import card_buttons, card_facts, card_text
from bot.relay.channels import adapter_for
from bot.relay.context import WorkerContext
from bot.relay.errors import SendError
from bot.relay.outbox import Claimed
from bot.relay.telegram_client import NotAForum, TopicGone
from bot.relay.textsplit import TELEGRAM_CAPTION_LIMIT, TELEGRAM_TEXT_LIMIT, split_text
from db.models import Conversation, Customer, Media, Message, MessageMap, Shop

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

log = logging.getLogger("bot.relay.to_admin")
# What a customer's media message is called in the admin group.
MEDIA_KINDS = {"image": N_("picture"), "video": N_("video"), "audio": N_("voice message"),
               "file": N_("file")}


def relay_to_admin(ctx: WorkerContext, item: Claimed) -> None:
    with ctx.runtime.transaction() as session:
        message = session.get(Message, item.payload["message_id"])
        if message is None:
            log.warning("relay of missing message %s skipped", item.payload)
            return
        conversation = session.get_one(Conversation, message.conversation_id)
        customer = session.get_one(Customer, conversation.customer_id)
        shop = session.get_one(Shop, conversation.shop_id)
    if message.kind == "echo" and _own_echo(ctx, message):
        log.info("echo of the relay's own message in #%s not relayed", conversation.id)
        return
    adapter = adapter_for(conversation.channel)
    if not customer.profile_fetched:
        customer = adapter.snapshot_profile(ctx, conversation, customer, item.attempts)
    media = adapter.keep_media(ctx, message)
    for _attempt in range(2):
        thread_id = ensure_topic(ctx, shop, conversation, customer)
        try:
            sent = _post(ctx, conversation, customer, message, media, thread_id)
            break
        except TopicGone:
            log.info("topic of conversation #%s was deleted; creating it again", conversation.id)
            _forget_topic(ctx, conversation)
    else:
        raise SendError("the conversation's topic could not be created", retryable=True)
    _remember(ctx, conversation, message, sent)
    log.info("conversation #%s: customer %s relayed to the admin group", conversation.id,
             message.kind)


def ensure_topic(ctx: WorkerContext, shop: Shop, conversation: Conversation,
                 customer: Customer) -> int | None:
    """The conversation's topic id, or None when the group has topics off."""
    if conversation.topic_id is not None:
        return conversation.topic_id
    if shop.admin_chat_topics is False:
        return None
    title = render.topic_title(conversation, customer)
    try:
        topic = ctx.telegram.send(ctx.telegram.bot.create_forum_topic(ctx.admin_chat_id, title))
    except NotAForum:
        log.warning("the admin group has topics off: relaying into the main chat")
        _set_topics(ctx, shop, False)
        return None
    thread_id = topic.message_thread_id
    with ctx.runtime.transaction() as session:
        session.execute(update(Conversation).where(Conversation.id == conversation.id)
                        .values(topic_id=thread_id))
        session.execute(update(Shop).where(Shop.id == shop.id).values(admin_chat_topics=True))
    conversation.topic_id = thread_id
    shop.admin_chat_topics = True
    _post_card(ctx, conversation, customer, thread_id)
    return thread_id


def _post_card(ctx: WorkerContext, conversation: Conversation, customer: Customer,
               thread_id: int) -> None:
    with ctx.runtime.sessions() as session:
        facts = card_facts(session, session.get(Conversation, conversation.id) or conversation)
    card = _post_card_part(ctx, thread_id, card_text(facts),
                           _media(ctx, customer.picture_media_id), card_buttons(facts))
    _map(ctx, conversation, None, [card], None)
    with ctx.runtime.transaction() as session:
        session.execute(update(Conversation).where(Conversation.id == conversation.id)
                        .values(card_message_id=card.message_id))
    try:
        ctx.telegram.send(ctx.telegram.bot.pin_chat_message(
            ctx.admin_chat_id, card.message_id, disable_notification=True))
    except SendError as exc:
        # Pinning needs the "pin messages" right; the card is there all the same.
        log.warning("could not pin the card of conversation #%s: %s", conversation.id, exc)
    described = adapter_for(conversation.channel).describe_thread(ctx, conversation)
    if described is not None:
        _map(ctx, conversation, None, [_post_card_part(ctx, thread_id, *described)], None)


def refresh_card(ctx: WorkerContext, item: Claimed) -> None:
    """The card edited in place after a change (tags, shipping, assignment, archive)."""
    with ctx.runtime.sessions() as session:
        conversation = session.get(Conversation, int(item.payload["conversation_id"]))
        if conversation is None or conversation.card_message_id is None:
            return
        facts = card_facts(session, conversation)
    bot, text = ctx.telegram.bot, card_text(facts)
    markup = keyboard(card_buttons(facts))
    message_id = int(conversation.card_message_id)
    try:
        if facts.customer.picture_media_id is not None:
            ctx.telegram.send(bot.edit_message_caption(
                ctx.admin_chat_id, message_id, caption=text[:TELEGRAM_CAPTION_LIMIT],
                parse_mode=ParseMode.HTML, reply_markup=markup))
        else:
            ctx.telegram.send(bot.edit_message_text(
                text, ctx.admin_chat_id, message_id, parse_mode=ParseMode.HTML,
                reply_markup=markup, link_preview_options=NO_PREVIEW))
    except SendError as exc:
        if exc.retryable:
            raise
        log.info("card of conversation #%s not edited: %s", conversation.id, exc)


def _post_card_part(ctx: WorkerContext, thread_id: int, text: str, picture: Media | None,
                    buttons: Any = None) -> TgMessage:
    """A picture with the text as its caption, or the text alone (links not previewed)."""
    bot = ctx.telegram.bot
    if picture is not None:
        return ctx.telegram.send(bot.send_photo(
            ctx.admin_chat_id, InputFile(picture.data, filename=picture.filename),
            caption=text[:TELEGRAM_CAPTION_LIMIT], parse_mode=ParseMode.HTML,
            message_thread_id=thread_id, reply_markup=keyboard(buttons)))
    return ctx.telegram.send(bot.send_message(
        ctx.admin_chat_id, text, parse_mode=ParseMode.HTML, message_thread_id=thread_id,
        link_preview_options=NO_PREVIEW, reply_markup=keyboard(buttons)))


def _own_echo(ctx: WorkerContext, message: Message) -> bool:
    """Meta echoes every message the Page sends; the relay's own sends are known by mid."""
    mid = str((message.data or {}).get("mid") or "")
    with ctx.runtime.sessions() as session:
        recent = session.scalars(
            select(Message).where(Message.conversation_id == message.conversation_id,
                                  Message.direction == "out")
            .order_by(Message.id.desc()).limit(50)).all()
    return any(m.platform_message_id == mid or mid in (m.data or {}).get("sent_ids", [])
               for m in recent)


def _post(ctx: WorkerContext, conversation: Conversation, customer: Customer, message: Message,
          media: Media | None, thread_id: int | None) -> list[TgMessage]:
    bot = ctx.telegram.bot
    prefix = "" if thread_id is not None else render.header(conversation, customer) + "\n"
    common: dict[str, Any] = {"message_thread_id": thread_id, "parse_mode": ParseMode.HTML}
    reply_to = _quoted_admin_message(ctx, message)
    if reply_to is not None:
        common["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
    chat = ctx.admin_chat_id
    if media is not None:
        caption = (prefix + render.media_caption(message))[:TELEGRAM_CAPTION_LIMIT]
        upload = InputFile(media.data, filename=media.filename)
        if message.kind == "image":
            call = bot.send_photo(chat, upload, caption=caption, **common)
        elif message.kind == "video":
            call = bot.send_video(chat, upload, caption=caption, **common)
        elif message.kind == "audio":
            call = bot.send_audio(chat, upload, caption=caption, **common)
        else:
            call = bot.send_document(chat, upload, caption=caption, **common)
        return [ctx.telegram.send(call)]
    if message.kind == "location":
        extra = message.attachments[0]["extra"]
        sent = ctx.telegram.send(bot.send_venue(
            chat, extra["latitude"], extra["longitude"],
            title=str(extra.get("title") or _("Location")), address=str(extra.get("address") or ""),
            message_thread_id=thread_id, reply_parameters=common.get("reply_parameters")))
        return [sent]
    if message.kind == "text":
        # Split the customer's own text, then escape each piece: a cut must
        # never fall inside an HTML entity. The header needs some room.
        pieces = [escape(p) for p in split_text(message.text or "", TELEGRAM_TEXT_LIMIT - 200)]
        pieces = pieces or [""]
        pieces[0] = render.text_prefix(message) + pieces[0]
        pieces[-1] += render.text_suffix(message)
    else:
        pieces = [render.message_body(message) or _unavailable(message)]
    pieces[0] = prefix + pieces[0]
    return [ctx.telegram.send(bot.send_message(chat, piece, **common)) for piece in pieces]


def _unavailable(message: Message) -> str:
    return "<i>" + _("Sent a {kind} that could not be downloaded.").format(
        kind=_(MEDIA_KINDS.get(message.kind, message.kind))) + "</i>"


def _quoted_admin_message(ctx: WorkerContext, message: Message) -> int | None:
    """The admin-chat copy of the message this one quotes, unsends, edits or answers
    (a comment reply is threaded under the comment it answers)."""
    data = message.data or {}
    if message.kind.startswith("comment_"):
        target = data.get("comment_id")  # an edit or removal: under the comment itself
    else:
        # A top-level Facebook comment's parent is the post itself: nothing to thread under.
        parent = data.get("parent_id") if data.get("parent_id") != data.get("post_id") else None
        target = data.get("quoted_message_id") or data.get("unsent_id") or parent
    if not target:
        return None
    with ctx.runtime.sessions() as session:
        return session.scalar(select(MessageMap.admin_message_id).where(
            MessageMap.conversation_id == message.conversation_id,
            MessageMap.channel == message.channel, MessageMap.channel_message_id == str(target)))


def _remember(ctx: WorkerContext, conversation: Conversation, message: Message,
              sent: list[TgMessage]) -> None:
    _map(ctx, conversation, message, sent, message.platform_message_id)


def _map(ctx: WorkerContext, conversation: Conversation, message: Message | None,
         sent: list[TgMessage], channel_message_id: str | None) -> None:
    """Record which admin-chat messages stand for what, for reply routing."""
    with ctx.runtime.transaction() as session:
        for index, tg in enumerate(sent):
            session.add(MessageMap(
                shop_id=conversation.shop_id, conversation_id=conversation.id,
                message_id=message.id if message else None, admin_chat_id=ctx.admin_chat_id,
                admin_message_id=tg.message_id, channel=conversation.channel,
                channel_message_id=channel_message_id if index == 0 else None,
            ))


def _forget_topic(ctx: WorkerContext, conversation: Conversation) -> None:
    with ctx.runtime.transaction() as session:
        session.execute(update(Conversation).where(Conversation.id == conversation.id)
                        .values(topic_id=None))
    conversation.topic_id = None


def _set_topics(ctx: WorkerContext, shop: Shop, on: bool) -> None:
    with ctx.runtime.transaction() as session:
        session.execute(update(Shop).where(Shop.id == shop.id).values(admin_chat_topics=on))
    shop.admin_chat_topics = on


def _media(ctx: WorkerContext, media_id: int | None) -> Media | None:
    if media_id is None:
        return None
    with ctx.runtime.sessions() as session:
        return session.get(Media, media_id)


def notify(ctx: WorkerContext, item: Claimed) -> None:
    """A note from the bot in a topic (or the main chat), optionally as a reply."""
    payload = item.payload
    bot = ctx.telegram.bot
    reply = (ReplyParameters(int(payload["reply_to"]), allow_sending_without_reply=True)
             if payload.get("reply_to") else None)
    thread_id = payload.get("thread_id")
    if thread_id is None and payload.get("conversation_id"):
        # Written before the topic was known: look it up now.
        with ctx.runtime.sessions() as session:
            thread_id = session.scalar(select(Conversation.topic_id).where(
                Conversation.id == int(payload["conversation_id"])))
    # A long note (/help, a long list) goes in pieces cut at line ends, so no HTML
    # tag is cut; the buttons go under the last piece.
    pieces = split_text(payload["text"], TELEGRAM_TEXT_LIMIT)
    for n, piece in enumerate(pieces):
        markup = keyboard(payload.get("buttons")) if n == len(pieces) - 1 else None
        try:
            ctx.telegram.send(bot.send_message(
                ctx.admin_chat_id, piece, parse_mode=ParseMode.HTML,
                message_thread_id=thread_id, reply_parameters=reply, reply_markup=markup,
                link_preview_options=NO_PREVIEW))
        except TopicGone:
            thread_id = None
            ctx.telegram.send(bot.send_message(
                ctx.admin_chat_id, piece, parse_mode=ParseMode.HTML, reply_parameters=reply,
                reply_markup=markup, link_preview_options=NO_PREVIEW))
        reply = None


def edit_note(ctx: WorkerContext, item: Claimed) -> None:
    """A list page or card replaced in place."""
    payload = item.payload
    try:
        ctx.telegram.send(ctx.telegram.bot.edit_message_text(
            payload["text"], ctx.admin_chat_id, int(payload["message_id"]),
            parse_mode=ParseMode.HTML, reply_markup=keyboard(payload.get("buttons")),
            link_preview_options=NO_PREVIEW))
    except SendError as exc:
        if exc.retryable:
            raise
        # "message is not modified" (a double tap) or a message deleted since.
        log.info("message %s not edited: %s", payload["message_id"], exc)


def topic_state(ctx: WorkerContext, item: Claimed) -> None:
    """Close an archived conversation's topic; reopen it when the customer is back."""
    with ctx.runtime.sessions() as session:
        topic_id = session.scalar(select(Conversation.topic_id).where(
            Conversation.id == int(item.payload["conversation_id"])))
    if topic_id is None:
        return
    bot = ctx.telegram.bot
    call = (bot.close_forum_topic if item.payload["closed"] else bot.reopen_forum_topic)
    try:
        ctx.telegram.send(call(ctx.admin_chat_id, int(topic_id)))
    except (TopicGone, NotAForum):
        return
    except SendError as exc:
        if exc.retryable:
            raise
        # TOPIC_NOT_MODIFIED: it already was.
        log.info("topic %s state unchanged: %s", topic_id, exc)


def keyboard(rows: Any) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in rows])


def mark_delivered(ctx: WorkerContext, item: Claimed) -> None:
    """A 👍 on the admin's message once the customer has it: quiet, and no extra post."""
    try:
        ctx.telegram.send(ctx.telegram.bot.set_message_reaction(
            ctx.admin_chat_id, int(item.payload["message_id"]), [ReactionTypeEmoji("👍")]))
    except SendError as exc:
        if exc.retryable:
            raise
        log.warning("could not mark message %s as delivered: %s", item.payload, exc)


def answer_callback(ctx: WorkerContext, item: Claimed) -> None:
    try:
        ctx.telegram.run(ctx.telegram.bot.answer_callback_query(
            item.payload["callback_query_id"], text=item.payload.get("text")))
    except SendError as exc:
        # A callback answered too late is refused; the admin has moved on.
        log.info("callback answer not taken: %s", exc)
