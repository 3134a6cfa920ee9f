"""Trained models."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import ServicesDep
from core.schemas import ModelPublic, ModelsPublic

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def read_models(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ModelsPublic:
    """List trained models, newest first."""
    models, count = services.models.list_models(limit, offset)
    return ModelsPublic(data=[ModelPublic.model_validate(m) for m in models], count=count)


@router.get("/{model_id}")
def read_model(model_id: str, services: ServicesDep) -> ModelPublic:
    """A model's classes, input shape, dataset, architecture, parameters and metrics."""
    return ModelPublic.model_validate(services.models.get_model(model_id))
