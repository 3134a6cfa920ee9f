"""Trained models."""

import shutil
from pathlib import Path

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from app.deps import Limit, Offset, ServicesDep
from core.schemas import ModelPublic, ModelsPublic

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def read_models(
    services: ServicesDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ModelsPublic:
    """List trained models, newest first."""
    models, count = services.models.list_models(limit, offset)
    return ModelsPublic(data=[ModelPublic.model_validate(m) for m in models], count=count)


@router.get("/{model_id}")
def read_model(model_id: str, services: ServicesDep) -> ModelPublic:
    """A model's classes, input shape, dataset, architecture, parameters and metrics."""
    return ModelPublic.model_validate(services.models.get_model(model_id))


@router.delete("/{model_id}", status_code=204)
async def delete_model(model_id: str, services: ServicesDep) -> None:
    """Delete a trained model's record and files; predictions stop using it at once."""
    model = await run_in_threadpool(services.models.delete_model, model_id)
    await services.predictor.forget(model_id)
    folder = Path(model.path).parent
    if folder.parent == services.settings.models_dir.resolve():  # never outside DATA_DIR/models
        shutil.rmtree(folder, ignore_errors=True)
