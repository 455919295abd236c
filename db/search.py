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
RECENT = 5_000
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
# pg_trgm splits words at characters that are not letters, and under a UTF-8
# locale Thai vowel and tone marks are not: "ผ้าไหม" would be indexed as
# "ผ" + "าไหม". The index is on the text with each mark swapped for a Lao
# letter (a script shop chat never uses), so Thai words stay whole.
THAI_MARKS = "".join(map(chr, [0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)]))
STAND_INS = "".join(map(chr, [0x0E81, 0x0E82, 0x0E84, 0x0E87, 0x0E88, 0x0E8A, 0x0E8D, 0x0E94,
                              0x0E95, 0x0E96, 0x0E97, 0x0E99, 0x0E9A, 0x0E9B, 0x0E9C, 0x0E9D]))
INDEXED_TEXT = f"translate(messages.text, '{THAI_MARKS}', '{STAND_INS}')"
POSTGRES_DDL = (
    # Trusted since PostgreSQL 13: the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON messages USING gin ({INDEXED_TEXT} "
    "gin_trgm_ops)",
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
    # The index's own expression, as literal SQL so that a prepared statement
    # still matches it.
    indexed_text: ColumnElement[str] = literal_column(INDEXED_TEXT)
    stmt = select(Message.id).where(*[_contains(indexed_text, w.translate(_STAND_IN))
                                      for w in words])
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
    pattern = "%" + _escape_like(word) + "%"
    # Thai has no case: LIKE skips the lower() that ILIKE runs on every row.
    caseless = word.lower() == word.upper()
    condition: ColumnElement[bool] = (column.like(pattern, escape="\\") if caseless
                                      else column.ilike(pattern, escape="\\"))
    return condition


_STAND_IN = str.maketrans(THAI_MARKS, STAND_INS)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
