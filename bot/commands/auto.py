"""Automated invoices from the admin group: /auto, /post link, /live, /invoices,
and the digest's buttons."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape

from sqlalchemy import func, select

from bot.commands import (
    Command,
    CommandError,
    Invocation,
    Reply,
    auto_set,
    button,
    callback_data,
    command,
    shop_row,
)
from bot.commands.lists import PAGE_SIZE, arrow_row, clamp_page, page_arg, page_footer
from bot.commands.orders import order_by_id
from bot.i18n import N_, _, ngettext
from bot.orders.auto import apply
from bot.orders.catalogue import baht
from bot.orders.orders import order_totals
from bot.relay.cf_capture import (
    auto_settings,
    from_json,
    live_session,
    queue_digest,
    release_invoices,
    running_live,
)
from bot.relay.order_view import queue_order_message
from bot.relay.outbox import enqueue
from bot.relay.render import customer_name, topic_anchor
from db.models import (
    CfComment,
    Conversation,
    Customer,
    LiveSession,
    Order,
    PostLink,
    Product,
    utcnow,
)

SCOPES = {"posts": ("posts_on",), "live": ("live_on",), "all": ("posts_on", "live_on")}
POST_URL = re.compile(r"(?:posts|videos|reel|p)/([A-Za-z0-9_.-]+)")
COMMENT_STATES = {"applied": N_("applied"), "rejected": N_("rejected"),
                  "pending": N_("pending")}


def _state(inv: Invocation) -> str:
    auto = auto_settings(inv.session, inv.shop_id)
    live = live_session(inv.session, inv.shop_id, None)
    capturing = _("none")
    if live is not None:
        capturing = (_("capturing post {id}").format(id=escape(live.post_id)) if live.post_id
                     else _("capturing"))
    on, off = _("on"), _("off")
    return "\n".join([
        "<b>🧾 " + _("Automated invoices") + "</b>",
        _("Photos, posts and chats: {posts} · videos and lives: {lives}").format(
            posts=on if auto.posts_on else off, lives=on if auto.live_on else off)
        + (" · ⏸ " + _("paused") if auto.paused else ""),
        _("Mode: {mode} · the same code again {repeat} the quantity · at most {n} per code")
        .format(mode=_("keyword required (CF A01 2)") if auto.mode == "keyword"
                else _("code only (A01 2)"),
                repeat=_("replaces") if auto.repeat == "replace" else _("adds to"),
                n=auto.max_qty),
        _("Live: {capturing} · grace after /live stop {n} min").format(
            capturing=capturing, n=auto.grace_minutes),
        auto_set.summary(auto),
    ])


@command("auto", usage="[on|off [posts|live|all] | mode keyword|code | pause | set NAME VALUE]",
         role="admin",
         help=N_("automated invoices from CF comments: on or off, the mode, pause, settings"))
def auto(inv: Invocation, cmd: Command) -> Reply:
    settings = auto_settings(inv.session, inv.shop_id)
    args = [a.lower() for a in cmd.args]
    if not args:
        return Reply(_state(inv))
    if args[0] in ("on", "off") and len(args) <= 2:
        scope = args[1] if len(args) == 2 else "all"
        if scope not in SCOPES:
            raise CommandError(_("Say posts, live or all: /auto on live"))
        for name in SCOPES[scope]:
            setattr(settings, name, args[0] == "on")
        if args[0] == "on":
            settings.paused = False
    elif args[0] == "mode" and len(args) == 2 and args[1] in ("keyword", "code"):
        settings.mode = args[1]
    elif args[0] == "pause" and len(args) == 1:
        settings.paused = True
    elif args[0] == "set":
        if not auto_set.apply_setting(settings, cmd.rest.strip()[len("set"):]):
            return Reply(auto_set.usage())
    else:
        raise CommandError(_("Try /auto on, /auto off live, /auto mode code, /auto pause "
                             "or /auto set"))
    return Reply(_state(inv))


@command("post", usage="link POST_ID|URL CODE… | unlink POST_ID", role="admin",
         help=N_("tie a photo or video post to its products, so a bare CF on it means them"))
def post(inv: Invocation, cmd: Command) -> Reply:
    if len(cmd.args) < 2 or cmd.args[0].lower() not in ("link", "unlink"):
        raise CommandError("/post link 108234567890123_1098765432109876 A01 A02")
    post_id = _post_id(cmd.args[1])
    found = inv.session.scalars(select(PostLink).where(PostLink.shop_id == inv.shop_id,
                                                       PostLink.post_id == post_id)).first()
    if cmd.args[0].lower() == "unlink":
        if found is not None:
            inv.session.delete(found)
        return Reply(_("Post {id} is no longer tied to products.").format(id=escape(post_id)))
    codes = [c.upper() for c in cmd.args[2:]]
    known = set(inv.session.scalars(select(Product.code).where(
        Product.shop_id == inv.shop_id, Product.code.in_(codes))))
    if not codes or set(codes) - known:
        missing = ", ".join(sorted(set(codes) - known)) or _("none given")
        raise CommandError(_("Name products of the catalogue (unknown: {codes})").format(
            codes=escape(missing)))
    if found is None:
        inv.session.add(PostLink(shop_id=inv.shop_id, post_id=post_id, codes=codes,
                                 created_at=utcnow()))
    else:
        found.codes = codes
    return Reply("🔗 " + (
        _("Post {id} → {codes}: a bare “CF” or “CF 2” on it means that product.")
        if len(codes) == 1 else
        _("Post {id} → {codes}: a bare “CF” or “CF 2” on it means one of these "
          "(the admins are asked which).")).format(id=escape(post_id), codes=", ".join(codes)))


def _post_id(raw: str) -> str:
    """The feed webhook's id ({page_id}_{post_id}) or a post's URL; a bare id is kept."""
    found = POST_URL.search(raw)
    return found.group(1) if found and raw.startswith("http") else raw


@command("live", usage="start [POST_ID] | stop", role="admin",
         help=N_("mark a live sale: CF comments are captured from start to the grace after stop"))
def live(inv: Invocation, cmd: Command) -> Reply:
    action = cmd.args[0].lower() if cmd.args else ""
    running = running_live(inv.session, inv.shop_id)
    settings = auto_settings(inv.session, inv.shop_id)
    if action == "start":
        if running is not None:
            raise CommandError(_("A live is already running (since {time} UTC): /live stop "
                                 "first").format(time=f"{running.started_at:%H:%M}"))
        post_id = _post_id(cmd.args[1]) if len(cmd.args) > 1 else None
        inv.session.add(LiveSession(shop_id=inv.shop_id, post_id=post_id,
                                    admin_id=inv.admin.id, started_at=utcnow()))
        settings.live_on, settings.paused = True, False
        return Reply("🔴 " + (
            _("Live started: CF comments on post {id} open orders.").format(id=escape(post_id))
            if post_id else _("Live started: CF comments on every live video open orders.")))
    if action == "stop":
        if running is None:
            raise CommandError(_("No live is running: /live start begins one"))
        now = utcnow()
        running.stopped_at = now
        running.capture_until = now + timedelta(minutes=settings.grace_minutes)
        if running.post_id:
            # Meta may have dropped webhooks during the rush: read the live back.
            enqueue(inv.session, shop_id=inv.shop_id, destination="facebook_comment",
                    kind="cf_backfill", payload={"post_id": running.post_id,
                                                 "thread_id": inv.extras.get("thread_id")},
                    idempotency_key=f"cf-backfill:{running.id}")
        owed = release_invoices(inv.session, inv.shop_id)
        summary = _live_summary(inv, running)
        if owed:
            summary += "\n" + ngettext("{n} invoice the customers asked for goes out now.",
                                        "{n} invoices the customers asked for go out now.",
                                        owed).format(n=owed)
        return Reply(summary)
    raise CommandError(_("Say start or stop: /live start"))


def _live_summary(inv: Invocation, running: LiveSession) -> str:
    key = f"live:{running.id}"
    counts = dict(inv.session.execute(
        select(CfComment.status, func.count()).where(CfComment.shop_id == inv.shop_id,
                                                     CfComment.session_key == key)
        .group_by(CfComment.status)).all())
    orders = inv.session.scalar(select(func.count(func.distinct(CfComment.order_id))).where(
        CfComment.session_key == key, CfComment.order_id.is_not(None))) or 0
    return "⏹ " + _("Live stopped. Comments still count for {time} UTC (the grace period).\n"
                    "CF comments: {applied} applied, {ambiguous} for you to decide, "
                    "{pending} still coming in · {orders} orders.").format(
        time=f"{running.capture_until:%H:%M}", applied=counts.get("applied", 0),
        ambiguous=counts.get("ambiguous", 0), pending=counts.get("pending", 0), orders=orders)


@button("cfa")
def ambiguous_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    """✅ take / ✖️ ignore on an unclear comment in the digest."""
    comment = shop_row(inv, CfComment, args[0] if len(args) == 2 else "",
                       _("That comment is not there any more."))
    if comment.status != "ambiguous":
        raise CommandError(_("Already {status}.").format(
            status=_(COMMENT_STATES.get(comment.status, comment.status))))
    queue_digest(inv.session, inv.shop_id)
    if args[1] == "no":
        comment.status, comment.outcome = "rejected", _("ignored by {name}").format(
            name=inv.admin.display_name)
        return Reply("", toast=_("Ignored"))
    parsed = from_json(comment.parsed)
    if not parsed.items:
        raise CommandError(_("Nothing could be read from it: answer in the conversation."))
    done = apply(inv.session, inv.shop_id, comment.customer_id, comment.conversation_id,
                 parsed.__class__("order", parsed.items), repeat="replace",
                 written_at=comment.written_at, comment_row=comment.id)
    comment.status, comment.outcome = "applied", done.describe()
    comment.order_id = done.order.id if done.order else None
    if done.order is not None:
        queue_order_message(inv.session, done.order)
    return Reply("", toast=_("Taken: {what}").format(what=done.describe())[:190])


@command("invoices", usage="[page]",
         help=N_("the open automatic orders: name, CODE×QTY and total, with a button to open each"))
def invoices(inv: Invocation, cmd: Command) -> Reply:
    return invoices_page(inv, page_arg(cmd))


def invoices_page(inv: Invocation, number: int, *, edit: bool = False) -> Reply:
    where = (Order.shop_id == inv.shop_id, Order.source != "admin",
             Order.status.in_(("draft", "awaiting_payment")))
    total = inv.session.scalar(select(func.count()).select_from(Order).where(*where)) or 0
    number = clamp_page(number, total)
    orders = inv.session.scalars(select(Order).where(*where).order_by(Order.id)
                                 .offset(number * PAGE_SIZE).limit(PAGE_SIZE)).all()
    lines = ["<b>🧾 " + _("Automated invoices") + "</b>"]
    buttons: list[tuple[tuple[str, str], ...]] = []
    for order in orders:
        conversation = inv.session.get_one(Conversation, order.conversation_id)
        customer = inv.session.get_one(Customer, order.customer_id)
        name = topic_anchor(inv.extras["admin_chat_id"], conversation,
                            escape(customer_name(customer, conversation)))
        items = " ".join(f"{line.code}×{line.qty}" for line in order.lines) or "—"
        lines.append(f"#{order.id} {name} · {escape(items)} · {baht(order_totals(order).total)}")
        if conversation.topic_id is None:
            buttons.append(((_("Open #{id}").format(id=order.id),
                             callback_data("cfo", order.id)),))
    if not orders:
        lines.append(_("None open. /auto switches automated invoices on."))
    else:
        lines.append(page_footer(number, len(orders), total))
    arrows = arrow_row(number, total, lambda page: callback_data("cfi", page))
    if arrows:
        buttons.append(arrows)
    return Reply("\n".join(lines), buttons=tuple(buttons), edit=edit)


@button("cfi")
def invoices_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    if not args or not args[0].isdigit():
        raise CommandError(_("This list is out of date; open it again."))
    return invoices_page(inv, int(args[0]), edit=True)


@button("cfo")
def open_topic_button(inv: Invocation, args: tuple[str, ...]) -> Reply:
    """A CF customer has no topic of their own: open one for the conversation."""
    order = order_by_id(inv, args[0] if args else "")
    enqueue(inv.session, shop_id=inv.shop_id, destination="telegram", kind="open_topic",
            payload={"conversation_id": order.conversation_id, "order_id": order.id},
            idempotency_key=f"open-topic:{order.conversation_id}:{inv.key}",
            conversation_id=order.conversation_id)
    return Reply("", toast=f"Opening the topic of order #{order.id}")
