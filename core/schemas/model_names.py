"""Named models, their aliases, the history of their moves, and the default name."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.model_names import ALIAS_PATTERN, NAME_PATTERN, PRODUCTION
from core.schemas.catalog import ModelPublic


class ModelNamePublic(BaseModel):
    name: str
    versions: int = Field(description="How many versions it has now.")
    aliases: dict[str, int] = Field(description="Each alias and the version it points at.")
    default: bool = Field(description="Whether `/predict` uses it when a request names no model.")


class ModelNamesPublic(BaseModel):
    data: list[ModelNamePublic]
    count: int


class ModelNameDetail(ModelNamePublic):
    data: list[ModelPublic] = Field(description="Its versions, newest first.")


class AliasMovePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    alias: str
    old_version: int | None = Field(description="None: the alias was not set.")
    new_version: int | None = Field(description="None: the alias was removed.")
    reason: str
    job_id: str | None = Field(description="The job whose promotion moved it, if one did.")
    moved_at: datetime


class AliasMovesPublic(BaseModel):
    data: list[AliasMovePublic]
    count: int


class AliasUpdate(BaseModel):
    version: int = Field(ge=1, le=2**31 - 1, description="The version the alias points at.")
    reason: str | None = Field(
        default=None, max_length=1000, description="Why, for the history of moves."
    )


class RollbackRequest(BaseModel):
    alias: str = Field(default=PRODUCTION, pattern=ALIAS_PATTERN.pattern)


class DefaultModelName(BaseModel):
    name: str = Field(
        pattern=NAME_PATTERN.pattern,
        description="The named model whose production version answers requests naming none.",
    )
