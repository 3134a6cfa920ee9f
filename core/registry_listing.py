"""What the registry holds, listed for people: names with their versions and aliases."""

from dataclasses import dataclass

from sqlalchemy import func, select

from core.db import SessionFactory
from core.errors import NotFoundError
from core.tables import AliasMove, ModelAlias, RegisteredModel, RegistryDefaults, TrainedModel


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
        return [self.name(name) for name in page], total

    def name(self, name: str) -> NameSummary:
        with self._sessions() as session:
            if session.get(RegisteredModel, name) is None:
                raise NotFoundError(f"No model name {name!r}.")
            versions = session.scalar(
                select(func.count()).select_from(TrainedModel).where(TrainedModel.name == name)
            )
            rows = session.execute(
                select(ModelAlias.alias, ModelAlias.version)
                .where(ModelAlias.name == name)
                .order_by(ModelAlias.alias)
            )
            default = session.scalar(select(RegistryDefaults.default_name))
            aliases = {alias: version for alias, version in rows}
            return NameSummary(name, versions or 0, aliases, name == default)

    def versions(self, name: str) -> list[TrainedModel]:
        """A name's versions, newest first."""
        with self._sessions() as session:
            newest_first = TrainedModel.version.desc()
            query = select(TrainedModel).where(TrainedModel.name == name).order_by(newest_first)
            return list(session.scalars(query))

    def aliases_of_models(self, models: list[TrainedModel]) -> dict[str, list[str]]:
        """Each model's aliases, by model id."""
        names = {model.name for model in models}
        with self._sessions() as session:
            rows = session.execute(
                select(ModelAlias.name, ModelAlias.version, ModelAlias.alias)
                .where(ModelAlias.name.in_(names))
                .order_by(ModelAlias.alias)
            )
            by_version: dict[tuple[str, int], list[str]] = {}
            for name, version, alias in rows:
                by_version.setdefault((name, version), []).append(alias)
        return {model.id: by_version.get((model.name, model.version), []) for model in models}

    def last_move(self, name: str, alias: str) -> AliasMove | None:
        with self._sessions() as session:
            return session.scalar(
                select(AliasMove)
                .where(AliasMove.name == name, AliasMove.alias == alias)
                .order_by(AliasMove.id.desc())
                .limit(1)
            )
