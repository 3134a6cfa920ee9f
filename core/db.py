"""The database engine and sessions, for SQLite (the embedded default) or PostgreSQL."""

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from core.migrate import upgrade_database
from core.settings import Settings

SessionFactory = sessionmaker[Session]


def _enable_sqlite_concurrency(
    dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry
) -> None:
    # WAL lets the app read while the worker writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # A generous lock timeout: the worker and the app write to one file.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _enable_sqlite_concurrency)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    upgrade_database(engine)
    return engine


def create_session_factory(settings: Settings) -> SessionFactory:
    return sessionmaker(create_db_engine(settings), expire_on_commit=False)


def close_connections(sessions: SessionFactory) -> None:
    """Close the pooled connections; sessions opened later open new ones."""
    engine = sessions.kw["bind"]
    engine.dispose()
