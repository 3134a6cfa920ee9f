"""The service's health and readiness."""

from pydantic import BaseModel, Field


class Readiness(BaseModel):
    ready: bool
    model_id: str | None = Field(description="The default (newest) model.")
    detail: str


class Health(BaseModel):
    status: str
    database: str
    worker: str = Field(description="`running`, `restarting`, or `external` (not supervised).")
