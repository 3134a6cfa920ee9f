"""Named models: their versions, their aliases (`production`...) and the moves of those."""

from fastapi import APIRouter

from app.deps import Limit, Offset, ServicesDep
from app.routes.models import public_model
from app.services import Services
from core.registry_listing import aliases_at
from core.schemas import (
    AliasMovePublic,
    AliasMovesPublic,
    AliasUpdate,
    DefaultModelName,
    ModelNameDetail,
    ModelNamePublic,
    ModelNamesPublic,
    RollbackRequest,
)

router = APIRouter(tags=["model names"])


@router.get("/model-names")
def read_model_names(
    services: ServicesDep, limit: Limit = 50, offset: Offset = 0
) -> ModelNamesPublic:
    """List named models, by name, with their version counts and aliases."""
    names, count = services.registry_listing.names(limit, offset)
    return ModelNamesPublic(
        data=[ModelNamePublic.model_validate(name, from_attributes=True) for name in names],
        count=count,
    )


@router.get("/model-names/{name}")
def read_model_name(name: str, services: ServicesDep) -> ModelNameDetail:
    """A named model's aliases and versions, newest first."""
    summary = services.registry_listing.name(name)
    versions = [  # each version's aliases from the summary's, not queried again
        public_model(model, aliases_at(summary.aliases, model.version))
        for model in services.registry_listing.versions(name)
    ]
    return ModelNameDetail(**vars(summary), data=versions)


@router.put("/model-names/{name}/aliases/{alias}")
def update_alias(
    name: str, alias: str, update: AliasUpdate, services: ServicesDep
) -> AliasMovePublic:
    """Point an alias at a version; requests for it, and if it is the default name's
    `production`, requests naming no model, follow within a poll interval."""
    reason = update.reason or "set through the API"
    services.registry.set_alias(name, alias, update.version, reason)
    # The move just made, or, if it pointed there already, the one that put it there.
    return _last_move(services, name, alias)


@router.delete("/model-names/{name}/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, services: ServicesDep) -> None:
    """Remove an alias."""
    services.registry.remove_alias(name, alias, "removed through the API")


@router.get("/model-names/{name}/alias-moves")
def read_alias_moves(
    name: str, services: ServicesDep, limit: Limit = 50, offset: Offset = 0
) -> AliasMovesPublic:
    """The moves of a named model's aliases, newest first."""
    moves, count = services.registry.alias_history(name, limit, offset)
    return AliasMovesPublic(data=[AliasMovePublic.model_validate(m) for m in moves], count=count)


@router.post("/model-names/{name}/rollback")
def rollback_alias(name: str, rollback: RollbackRequest, services: ServicesDep) -> AliasMovePublic:
    """Move an alias back to the version it pointed at before its last move (409 if none)."""
    services.registry.rollback(name, rollback.alias)
    return _last_move(services, name, rollback.alias)


@router.put("/default-model-name")
def update_default_model_name(default: DefaultModelName, services: ServicesDep) -> DefaultModelName:
    """Choose the named model whose production version answers requests naming none."""
    services.registry.set_default_name(default.name)
    return default


def _last_move(services: Services, name: str, alias: str) -> AliasMovePublic:
    """The move that put the alias where it is: every alias is set by a recorded move (the
    upgrade that made the registry recorded the ones it set)."""
    move = services.registry.last_move(name, alias)
    assert move is not None
    return AliasMovePublic.model_validate(move)
