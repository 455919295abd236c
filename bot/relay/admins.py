"""Admins of the shop, known from what they do in the admin group.

Only members can post in the admin group, so whoever writes there is at least
an agent; owners are named in TELEGRAM_OWNER_IDS.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import insert_if_absent
from db.models import Admin, utcnow


def admin_for(session: Session, shop_id: int, telegram_user_id: int, display_name: str,
              owner_ids: tuple[int, ...]) -> Admin:
    query = select(Admin).where(Admin.shop_id == shop_id,
                                Admin.telegram_user_id == telegram_user_id)
    admin = session.scalars(query).first()
    if admin is None:
        insert_if_absent(session, Admin, shop_id=shop_id, telegram_user_id=telegram_user_id,
                         display_name=display_name[:200], created_at=utcnow(),
                         role="owner" if telegram_user_id in owner_ids else "agent")
        admin = session.scalars(query).one()
    elif telegram_user_id in owner_ids and admin.role != "owner":
        admin.role = "owner"
    if display_name and admin.display_name != display_name:
        admin.display_name = display_name[:200]
    return admin
