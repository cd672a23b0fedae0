"""Alembic environment: runs against the engine the app hands in (no alembic.ini)."""

from alembic import context

from medmitra_desktop.storage.orm import Base, include_in_migrations

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True,
            include_object=include_in_migrations,
        )
        context.run_migrations()


run_migrations_online()
