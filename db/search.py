"""Full-text search over message text that works for Thai (no spaces between words).

Substring search by trigrams: an FTS5 table with the trigram tokenizer on
SQLite, a pg_trgm GIN index on PostgreSQL. Both live outside the models
(migration 0004 creates them), so autogenerate is told to leave them alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, text
from sqlalchemy.orm import Session

from db.models import Message

FTS_TABLE = "messages_fts"
TRIGRAM = 3
MAX_WORDS = 5
# Newest index hits looked at when some words are too short for the index.
CANDIDATES = 2000
# PostgreSQL: newest messages read before turning to the trigram index.
RECENT = 20_000
TRGM_INDEX = "ix_messages_text_trgm"

SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "text, content='messages', content_rowid='id', tokenize='trigram')",
    f"CREATE VIRTUAL TABLE {FTS_TABLE}_vocab USING fts5vocab({FTS_TABLE}, 'row')",
    # External content: the triggers keep the index in step with messages.
    f"""CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
        INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END""",
    f"""CREATE TRIGGER {FTS_TABLE}_ad AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
        END""",
    f"""CREATE TRIGGER {FTS_TABLE}_au AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text)
            SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL;
        INSERT INTO {FTS_TABLE}(rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL;
        END""",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_au", f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ai", f"DROP TABLE IF EXISTS {FTS_TABLE}_vocab",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)
POSTGRES_DDL = (
    # Trusted since PostgreSQL 13: the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON messages USING gin (text gin_trgm_ops)",
)
POSTGRES_DROP = (f"DROP INDEX IF EXISTS {TRGM_INDEX}",)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """For autogenerate: the search index is the migration's, not the models'."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == TRGM_INDEX)


def search_terms(query: str) -> list[str]:
    """The words of a query, case-folded; a word is matched as a substring."""
    return list(dict.fromkeys(w.casefold() for w in query.split()))[:MAX_WORDS]


def find_messages(session: Session, shop_id: int, words: list[str], limit: int) -> list[int]:
    """Ids of messages containing every word, newest first, at most `limit`.

    Words of three characters or more go through the trigram index. A query of
    only shorter words (Thai "สี", "คะ") reads the newest messages first and
    stops at `limit`, so a common short word is found quickly.
    """
    if not words:
        return []
    sqlite = session.get_bind().dialect.name == "sqlite"
    indexed = [w for w in words if len(w) >= TRIGRAM]
    rest = [w for w in words if len(w) < TRIGRAM]
    if sqlite and indexed:
        match = " ".join('"' + w.replace('"', '""') + '"' for w in indexed)
        candidates = (select(literal_column("rowid").label("rowid")).select_from(text(FTS_TABLE))
                      .where(text(f"{FTS_TABLE} MATCH :match"))
                      .order_by(text("rowid DESC")).limit(CANDIDATES)).subquery()
        stmt = (select(Message.id).where(Message.id.in_(select(candidates.c.rowid)))
                .params(match=match))
        for word in rest:
            stmt = stmt.where(func.instr(func.lower(Message.text), word) > 0)
        return _newest(session, stmt, shop_id, limit)
    if sqlite:
        stmt = select(Message.id)
        for word in words:
            stmt = stmt.where(func.instr(func.lower(Message.text), word) > 0)
        return _newest(session, stmt, shop_id, limit)
    # PostgreSQL: a common word is found fastest by reading the newest messages;
    # a rare one through the trigram index. Try the first within a budget.
    recent = (select(Message.id, Message.text).where(Message.shop_id == shop_id)
              .order_by(Message.id.desc()).limit(RECENT).subquery())
    found = list(session.scalars(
        select(recent.c.id).where(*[_contains(recent.c.text, w) for w in words])
        .order_by(recent.c.id.desc()).limit(limit)))
    if len(found) >= limit:
        return found
    stmt = select(Message.id).where(*[_contains(Message.text, w) for w in words])
    if indexed:
        # "id + 0" keeps the planner off a backward primary-key scan, which
        # reads every message when the word is rare.
        return list(session.scalars(stmt.where(Message.shop_id == shop_id)
                                    .order_by((Message.id + 0).desc()).limit(limit)))
    return _newest(session, stmt, shop_id, limit)


def _newest(session: Session, stmt: Select[Any], shop_id: int, limit: int) -> list[int]:
    stmt = stmt.where(Message.shop_id == shop_id, Message.text.is_not(None))
    return list(session.scalars(stmt.order_by(Message.id.desc()).limit(limit)))


def _contains(column: Any, word: str) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = column.ilike("%" + _escape_like(word) + "%", escape="\\")
    return condition


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
