"""What the registry holds, listed for people: names with their versions and aliases."""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import SessionFactory
from core.errors import NotFoundError
from core.tables import ModelAlias, RegisteredModel, RegistryDefaults, TrainedModel


@dataclass
class NameSummary:
    name: str
    versions: int
    aliases: dict[str, int]
    default: bool


class RegistryListing:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def names(self, limit: int = 50, offset: int = 0) -> tuple[list[NameSummary], int]:
        """Named models, by name."""
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(RegisteredModel)) or 0
            page = list(
                session.scalars(
                    select(RegisteredModel.name)
                    .order_by(RegisteredModel.name)
                    .limit(limit)
                    .offset(offset)
                )
            )
            return _summaries(session, page), total

    def name(self, name: str) -> NameSummary:
        with self._sessions() as session:
            if session.get(RegisteredModel, name) is None:
                raise NotFoundError(f"No model name {name!r}.")
            return _summaries(session, [name])[0]

    def versions(self, name: str) -> list[TrainedModel]:
        """A name's versions, newest first."""
        with self._sessions() as session:
            newest_first = TrainedModel.version.desc()
            query = select(TrainedModel).where(TrainedModel.name == name).order_by(newest_first)
            return list(session.scalars(query))

    def aliases_of_models(self, models: list[TrainedModel]) -> dict[str, list[str]]:
        """Each model's aliases, by model id."""
        with self._sessions() as session:
            aliases = _aliases(session, {model.name for model in models})
        return {model.id: aliases_at(aliases[model.name], model.version) for model in models}


def aliases_at(aliases: dict[str, int], version: int) -> list[str]:
    """Of a name's aliases (each with the version it points at), those at `version`."""
    return [alias for alias, at in aliases.items() if at == version]


def _aliases(session: Session, names: Collection[str]) -> dict[str, dict[str, int]]:
    """Each name's aliases, in order, with the versions they point at."""
    aliases: dict[str, dict[str, int]] = {name: {} for name in names}
    for name, alias, version in session.execute(
        select(ModelAlias.name, ModelAlias.alias, ModelAlias.version)
        .where(ModelAlias.name.in_(names))
        .order_by(ModelAlias.alias)
    ):
        aliases[name][alias] = version
    return aliases


def _summaries(session: Session, names: list[str]) -> list[NameSummary]:
    """The summaries of `names`, in their order, in three queries however many they are."""
    # A comprehension, not dict(): a Result has keys(), which dict() would take for a mapping's.
    counts = {
        name: count
        for name, count in session.execute(
            select(TrainedModel.name, func.count())
            .where(TrainedModel.name.in_(names))
            .group_by(TrainedModel.name)
        )
    }
    aliases = _aliases(session, names)
    default = session.scalar(select(RegistryDefaults.default_name))
    return [
        NameSummary(name, counts.get(name, 0), aliases[name], name == default) for name in names
    ]
