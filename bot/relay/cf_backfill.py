"""Comments the webhook missed, read back from the live video at /live stop.

Meta does not promise to deliver every comment of a busy live. At stop the
worker pages through ``/{live-video}/comments`` (oldest first, every page) and
stores each comment exactly as if its webhook had come: one already received
is recognised by its id and changes nothing.
"""

from __future__ import annotations

import calendar
import logging
import time
from typing import Any

from bot.i18n import _
from bot.ingress.meta_parse import ShapeError, feed_change
from bot.relay.context import WorkerContext
from bot.relay.outbound import queue_note
from bot.relay.outbox import Claimed
from bot.relay.store import store_event

log = logging.getLogger("bot.relay.cf_backfill")

BACKFILL = "cf_backfill"
PAGE = 100
MAX_PAGES = 500  # 50,000 comments: a live sale's worth, and a bound on a runaway cursor


def backfill(ctx: WorkerContext, item: Claimed) -> None:
    page_id = ctx.runtime.settings.facebook_page_id
    post_id = str(item.payload["post_id"])
    if "_" not in post_id:
        post_id = f"{page_id}_{post_id}"
    after, found, new = "", 0, 0
    for _page in range(MAX_PAGES):
        params = {"fields": "id,message,from,created_time", "filter": "stream",
                  "order": "chronological", "limit": str(PAGE)}
        if after:
            params["after"] = after
        page = ctx.graph.get_edge(f"{post_id}/comments", params, "read the live's comments")
        for raw in page.get("data") or []:
            found += 1
            new += _store(ctx, item.shop_id, page_id, post_id, raw)
        after = str(((page.get("paging") or {}).get("cursors") or {}).get("after") or "")
        if not (page.get("paging") or {}).get("next") or not after:
            break
    log.info("live %s: %d comments read back, %d had been missed", post_id, found, new)
    with ctx.runtime.transaction() as session:
        queue_note(session, item.shop_id, None, item.payload.get("thread_id"), None,
                   key=f"backfill-report:{item.id}",
                   text="📥 " + _("Live comments read back: {found}, of which {new} had not "
                                  "arrived by webhook and are now counted.").format(
                       found=found, new=new))


def _store(ctx: WorkerContext, shop_id: int, page_id: str, post_id: str,
           raw: dict[str, Any]) -> int:
    """1 when this comment was new to us."""
    value = {"from": raw.get("from") or {}, "comment_id": raw.get("id"), "post_id": post_id,
             "created_time": _seconds(str(raw.get("created_time") or "")),
             "item": "comment", "verb": "add", "message": raw.get("message") or "",
             "parent_id": post_id, "post": {"status_type": "added_video", "id": post_id}}
    try:
        event = feed_change(page_id, {"id": page_id}, value, "feed")
    except ShapeError as exc:
        log.warning("a read-back comment was not understood: %s", exc)
        return 0
    if event is None:
        return 0
    with ctx.runtime.transaction() as session:
        return 1 if store_event(session, shop_id, event) else 0


def _seconds(graph_time: str) -> int:
    """Graph's "2025-06-14T06:00:12+0000" as seconds since the epoch."""
    try:
        return calendar.timegm(time.strptime(graph_time, "%Y-%m-%dT%H:%M:%S%z"))
    except ValueError:
        return int(time.time())
