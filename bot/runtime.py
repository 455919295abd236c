"""What a process holds for its whole life: settings, engine, session factory.

Created once by the app factory or the worker; no module-level globals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.i18n import set_language
from db.accept import AcceptWriter
from db.engine import KNOWN, KnownRows, make_engine, make_sessionmaker, transaction
from db.models import Shop

EXTENSION = "shoprelay"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _shop_id: int | None = field(default=None, repr=False)
    _writer: AcceptWriter | None = field(default=None, repr=False)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        # Code deep inside a transaction (storing a customer message) may need a
        # setting; every session carries them instead of every caller passing them.
        sessions.configure(info={"settings": settings, KNOWN: KnownRows()})
        set_language(settings.shop_language)
        return cls(settings=settings, engine=engine, sessions=sessions)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    @property
    def accept_writer(self) -> AcceptWriter:
        """The webhook's hot write path (see db.accept)."""
        if self._writer is None:
            self._writer = AcceptWriter(self.settings.database_url)
        return self._writer

    @property
    def shop_id(self) -> int:
        """The shop this deployment serves (one shop per deployment for now)."""
        if self._shop_id is None:
            with self.transaction() as session:
                shop = session.scalars(select(Shop).order_by(Shop.id).limit(1)).first()
                if shop is None:
                    shop = Shop(name="My shop")
                    session.add(shop)
                    session.flush()
                self._shop_id = shop.id
        return self._shop_id

    def close(self) -> None:
        self.engine.dispose()


def runtime_of(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions[EXTENSION]
    return runtime
