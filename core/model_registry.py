"""Named models, their versions and their aliases: the one place that writes them.

Each trained model is a version of a named model (1, 2, 3... in order of creation, never
reused); an alias (`production`, `staging`...) points at one version of its name. An alias
moves by one conditional write whose row count is checked, in the same transaction as the
record of the move, so concurrent moves never interleave and the history is their exact order.
"""

from enum import Enum
from typing import Final

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import SessionFactory
from core.errors import ConflictError, NotFoundError
from core.model_names import LATEST, PRODUCTION, check_alias, check_name
from core.sql import insert_or_ignore, rowcount
from core.tables import (
    AliasMove,
    ModelAlias,
    RegisteredModel,
    RegistryDefaults,
    TrainedModel,
    utc_now,
)

# Conditional writes that lose a race are retried; this many losses in a row is not a race.
_ATTEMPTS = 20


class Unchecked(Enum):
    """`set_alias`'s default `expected_version`: move the alias from wherever it points."""

    UNCHECKED = "unchecked"


UNCHECKED: Final = Unchecked.UNCHECKED


class ModelRegistry:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def add_version(self, model: TrainedModel, name: str) -> TrainedModel:
        """Record a new model as the next version of `name`, creating the name (and making it
        the default if there is none yet)."""
        check_name(name)
        with self._sessions.begin() as session:
            created = {"name": name, "created_at": utc_now(), "last_version": 0}
            session.execute(insert_or_ignore(session, RegisteredModel, created))
            # The row lock this takes makes concurrent additions to one name wait their turn.
            model.version = session.execute(
                update(RegisteredModel)
                .where(RegisteredModel.name == name)
                .values(last_version=RegisteredModel.last_version + 1)
                .returning(RegisteredModel.last_version)
            ).scalar_one()
            model.name = name
            session.add(model)
            session.execute(
                insert_or_ignore(session, RegistryDefaults, {"id": 1, "default_name": name})
            )
        return model

    def get_version(self, name: str, version: int) -> TrainedModel:
        with self._sessions() as session:
            model = session.scalar(_version_query(name, version))
            if model is None:
                _require_name(session, name)
                raise NotFoundError(f"Model name {name!r} has no version {version}.")
            return model

    def get_alias(self, name: str, alias: str) -> TrainedModel | None:
        """The version `alias` points at; None while it is not set."""
        with self._sessions() as session:
            model = session.scalar(_alias_query(name, alias))
            if model is None:
                _require_name(session, name)  # checked only on a miss: one query on a hit
            return model

    def aliases_of(self, name: str) -> dict[str, int]:
        with self._sessions() as session:
            _require_name(session, name)
            rows = session.execute(
                select(ModelAlias.alias, ModelAlias.version)
                .where(ModelAlias.name == name)
                .order_by(ModelAlias.alias)
            )
            return {alias: version for alias, version in rows}

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        reason: str,
        job_id: str | None = None,
        expected_version: int | Unchecked | None = UNCHECKED,
    ) -> bool:
        """Point `alias` at `version`; whether it moved. With `expected_version` (None: unset),
        only if the alias still points there, so a promotion decided against a stale
        incumbent never overwrites a concurrent move. Setting it where it is moves nothing."""
        check_alias(alias)
        for _ in range(_ATTEMPTS):
            try:
                with self._sessions.begin() as session:
                    if session.scalar(_version_query(name, version)) is None:
                        _require_name(session, name)
                        raise NotFoundError(f"Model name {name!r} has no version {version}.")
                    current = _alias_version(session, name, alias)
                    if current == version or (
                        not isinstance(expected_version, Unchecked) and current != expected_version
                    ):
                        return False
                    if _move_alias(session, name, alias, current, version, reason, job_id):
                        return True
            except IntegrityError:
                pass  # another move created the alias first, or deleted the version: look again
        raise ConflictError(f"Alias {alias!r} of {name!r} keeps moving; try again.")

    def remove_alias(self, name: str, alias: str, reason: str) -> None:
        check_alias(alias)
        for _ in range(_ATTEMPTS):
            with self._sessions.begin() as session:
                current = _alias_version(session, name, alias)
                if current is None:
                    _require_name(session, name)
                    raise NotFoundError(f"Model name {name!r} has no alias {alias!r}.")
                if _move_alias(session, name, alias, current, None, reason):
                    return
        raise ConflictError(f"Alias {alias!r} of {name!r} keeps moving; try again.")

    def rollback(self, name: str, alias: str) -> int:
        """Move `alias` back to the version it pointed at before its last move; that version."""
        last = self.last_move(name, alias)
        if last is None or last.old_version is None:
            raise ConflictError(
                f"Alias {alias!r} of {name!r} pointed nowhere before its last move."
            )
        try:
            moved = self.set_alias(
                name, alias, last.old_version, "rollback", expected_version=last.new_version
            )
        except NotFoundError as error:
            raise ConflictError(f"Cannot roll back {name}@{alias}: {error.message}") from error
        if not moved:
            raise ConflictError(f"Alias {alias!r} of {name!r} moved meanwhile; look again.")
        return last.old_version

    def last_move(self, name: str, alias: str) -> AliasMove | None:
        """The move that put `alias` where it is (or removed it); None if it never moved."""
        with self._sessions() as session:
            move = session.scalar(
                select(AliasMove)
                .where(AliasMove.name == name, AliasMove.alias == alias)
                .order_by(AliasMove.id.desc())
                .limit(1)
            )
            if move is None:
                _require_name(session, name)
            return move

    def resolve(self, reference: str) -> TrainedModel:
        """A model by id, by name (its `production` version), by `name@alias`, by
        `name@<version>` or by `name@latest`."""
        name, at, selector = reference.partition("@")
        if not at:
            with self._sessions() as session:
                model = session.get(TrainedModel, reference)
                if model is not None:
                    return model
                if session.get(RegisteredModel, reference) is None:
                    raise NotFoundError(f"No model with id or name {reference!r}.")
            selector = PRODUCTION
        if selector.isdigit():
            return self.get_version(name, int(selector))
        if selector == LATEST:
            return self._newest_version(name)
        model = self.get_alias(name, selector)
        if model is None and selector == PRODUCTION:
            raise ConflictError(
                f"Model name {name!r} has no production version: set its alias `production` "
                f"or name a version ({name}@<version>)."
            )
        if model is None:
            raise NotFoundError(f"Model name {name!r} has no alias {selector!r}.")
        return model

    def default_name(self) -> str | None:
        with self._sessions() as session:
            return session.scalar(select(RegistryDefaults.default_name))

    def set_default_name(self, name: str) -> None:
        with self._sessions.begin() as session:
            _require_name(session, name)
            row = {"id": 1, "default_name": name}
            session.execute(insert_or_ignore(session, RegistryDefaults, row))
            session.execute(update(RegistryDefaults).values(default_name=name))

    def default_model(self) -> TrainedModel | None:
        """The default name's production version; None without either."""
        return self.default_production()[1]

    def default_production(self) -> tuple[str | None, TrainedModel | None]:
        """The default name and its production version, read together; None where unset."""
        with self._sessions() as session:
            name = session.scalar(select(RegistryDefaults.default_name))
            if name is None:
                return None, None
            return name, session.scalar(_alias_query(name, PRODUCTION))

    def alias_history(
        self, name: str, limit: int = 50, offset: int = 0
    ) -> tuple[list[AliasMove], int]:
        """The moves of `name`'s aliases, newest first."""
        with self._sessions() as session:
            _require_name(session, name)
            moves = select(AliasMove).where(AliasMove.name == name)
            total = session.scalar(select(func.count()).select_from(moves.subquery())) or 0
            # Ids follow the order of the moves, which a clock need not.
            page = moves.order_by(AliasMove.id.desc()).limit(limit).offset(offset)
            return list(session.scalars(page)), total

    def delete_model(self, model_id: str) -> TrainedModel:
        """Remove a model's record and return it, so its files can be removed too; refused
        while an alias points at it (the alias must be moved or removed first)."""
        for _ in range(_ATTEMPTS):
            try:
                with self._sessions.begin() as session:
                    model = session.get(TrainedModel, model_id)
                    if model is None:
                        raise NotFoundError(f"No model with id {model_id!r}.")
                    _refuse_if_aliased(session, model)
                    session.execute(delete(TrainedModel).where(TrainedModel.id == model_id))
                    return model
            except IntegrityError:
                pass  # an alias was pointed at it meanwhile, and its foreign key refused
        raise ConflictError(f"Model {model_id!r} keeps being aliased; try again.")

    def _newest_version(self, name: str) -> TrainedModel:
        with self._sessions() as session:
            newest = select(TrainedModel).where(TrainedModel.name == name)
            model = session.scalar(newest.order_by(TrainedModel.version.desc()).limit(1))
            if model is None:
                _require_name(session, name)
                raise NotFoundError(f"Model name {name!r} has no versions left.")
            return model


def _require_name(session: Session, name: str) -> None:
    if session.get(RegisteredModel, name) is None:
        raise NotFoundError(f"No model name {name!r}.")


def _version_query(name: str, version: int) -> Select[TrainedModel]:
    return select(TrainedModel).where(TrainedModel.name == name, TrainedModel.version == version)


def _alias_query(name: str, alias: str) -> Select[TrainedModel]:
    """The version `alias` points at."""
    at_alias = (ModelAlias.name == TrainedModel.name) & (ModelAlias.version == TrainedModel.version)
    return (
        select(TrainedModel)
        .join(ModelAlias, at_alias)
        .where(ModelAlias.name == name, ModelAlias.alias == alias)
    )


def _alias_version(session: Session, name: str, alias: str) -> int | None:
    return session.scalar(
        select(ModelAlias.version).where(ModelAlias.name == name, ModelAlias.alias == alias)
    )


def _move_alias(
    session: Session,
    name: str,
    alias: str,
    old: int | None,
    new: int | None,
    reason: str,
    job_id: str | None = None,
) -> bool:
    """Move the alias from `old` to `new` (None: unset) and record the move, if the alias is
    still at `old`; whether it moved. Creating an alias that a concurrent move created first
    fails with an IntegrityError."""
    now = utc_now()
    if old is None:
        session.add(ModelAlias(name=name, alias=alias, version=new, updated_at=now))
        session.flush()
    else:
        here = (ModelAlias.name == name, ModelAlias.alias == alias, ModelAlias.version == old)
        moved = update(ModelAlias).values(version=new, updated_at=now)
        if rowcount(session, (delete(ModelAlias) if new is None else moved).where(*here)) != 1:
            return False
    session.add(
        AliasMove(
            name=name,
            alias=alias,
            old_version=old,
            new_version=new,
            reason=reason,
            job_id=job_id,
            moved_at=now,
        )
    )
    return True


def _refuse_if_aliased(session: Session, model: TrainedModel) -> None:
    aliases = session.scalars(
        select(ModelAlias.alias)
        .where(ModelAlias.name == model.name, ModelAlias.version == model.version)
        .order_by(ModelAlias.alias)
    ).all()
    if aliases:
        names = ", ".join(f"{model.name}@{alias}" for alias in aliases)
        raise ConflictError(
            f"Model {model.id!r} is version {model.version} of {model.name!r}, which {names} "
            "points at: move or remove the alias first."
        )
