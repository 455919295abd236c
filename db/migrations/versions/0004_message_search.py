"""message search: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import logging

from alembic import op

from db.search import POSTGRES_DDL, POSTGRES_DROP, SQLITE_DDL, SQLITE_DROP

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if not sqlite:
        ctype = str(bind.exec_driver_sql("SHOW lc_ctype").scalar() or "")
        if "utf" not in ctype.lower().replace("-", ""):
            logging.getLogger("alembic").warning(
                "the database's LC_CTYPE is %s, not UTF-8: Thai letters will not be indexed "
                "and /search will scan; create the database with LC_CTYPE C.UTF-8", ctype)
    for statement in SQLITE_DDL if sqlite else POSTGRES_DDL:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DROP if sqlite else POSTGRES_DROP:
        op.execute(statement)
