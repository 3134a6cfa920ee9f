"""The service's health and readiness."""

from pydantic import BaseModel, Field


class Readiness(BaseModel):
    ready: bool
    model_id: str | None = Field(
        description="The model that answers requests naming none: the default name's "
        "production version (the one being loaded, while none is loaded)."
    )
    name: str | None = Field(default=None, description="Its name.")
    version: int | None = Field(default=None, description="Its version.")
    detail: str


class Health(BaseModel):
    status: str
    database: str
    worker: str = Field(description="`running`, `restarting`, or `external` (not supervised).")
