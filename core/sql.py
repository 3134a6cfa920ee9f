"""Statements that SQLite and PostgreSQL spell differently, and the row count of a write."""

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Insert, Update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, entity: type[Any], row: dict[str, Any]) -> Insert:
    """Insert `row` unless a row with its key (or another unique value) already exists."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(entity).values(**row).on_conflict_do_nothing()


def rowcount(session: Session, statement: Update | Delete) -> int:
    # A write's result is a CursorResult, which Session.execute's annotation does not say.
    return cast(CursorResult[Any], session.execute(statement)).rowcount
