"""SQLite through SQLAlchemy 2, Alembic migrations, the content-addressed file store."""
