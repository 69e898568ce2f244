"""Alembic environment: runs migrations on the engine ``collector db upgrade`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from collector.storage import models  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("migrations run through collector.storage.db.upgrade(engine)")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables the portable way.
            render_as_batch=True,
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
