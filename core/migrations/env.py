"""Alembic's entry point: runs the migrations on the connection `core.migrate` hands it, or, for
`alembic` on the command line, on the database the settings name."""

from alembic import context
from sqlalchemy import Connection, create_engine

from core.settings import get_settings
from core.tables import Base


def run_migrations(connection: Connection) -> None:
    # Batch mode rewrites tables where SQLite cannot ALTER them in place.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with create_engine(get_settings().resolved_database_url).begin() as own_connection:
        run_migrations(own_connection)
