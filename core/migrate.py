"""Brings the database schema up to date with Alembic when the app or a worker starts."""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text

log = logging.getLogger("core.migrate")

MIGRATIONS = Path(__file__).parent / "migrations"
# The schema that databases created before migrations existed already have.
FIRST_REVISION = "0001"
# Any fixed number: PostgreSQL advisory locks are keyed by integers.
POSTGRES_LOCK_KEY = 7_215_003


def upgrade_database(engine: Engine) -> None:
    """Apply every migration not yet applied; safe when several processes start at once."""
    with (
        _migration_lock(engine),
        engine.connect() as connection,
        migration_transaction(connection),
    ):
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY}
            )
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        if _predates_migrations(connection):
            command.stamp(config, FIRST_REVISION)
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
        if after != before:
            log.info("database schema upgraded", extra={"from": before, "to": after})


def _predates_migrations(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return "jobs" in tables and "alembic_version" not in tables


@contextmanager
def migration_transaction(connection: Connection) -> Iterator[None]:
    """A transaction that, on SQLite, runs with foreign keys off and checks them all before
    it commits.

    Batch mode rebuilds a table by dropping it, and with foreign keys on, dropping a table
    deletes its rows first: rows that reference them would block it (`model_aliases`) or be
    deleted in cascade (`job_epochs`)."""
    if connection.dialect.name != "sqlite":
        with connection.begin():
            yield
        return
    # The pragma does nothing inside a transaction, so it is set between two.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        with connection.begin():
            yield
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"A migration left rows whose foreign keys break: {broken}")
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite has no advisory locks, so processes sharing a database file take a file lock."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(Path(database).with_suffix(".migrate-lock"), "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield
