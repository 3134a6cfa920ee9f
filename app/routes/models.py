"""Trained models."""

import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from app.deps import Limit, Offset, ServicesDep
from app.export import ExportFormat
from app.pictures import PNG_RESPONSES, png_response
from core.errors import ModelUnavailableError
from core.plots import model_confusion_png
from core.schemas import ModelPublic, ModelsPublic

router = APIRouter(prefix="/models", tags=["models"])


def _file_responses(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {media_type: binary}}, 404: {}, 503: {}}


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


@router.get("/{model_id}/confusion.png", response_class=Response, responses=PNG_RESPONSES)
async def read_model_confusion(model_id: str, services: ServicesDep) -> Response:
    """The model's confusion matrix on its test split (true vs predicted class), as a PNG."""
    model = await run_in_threadpool(services.models.get_model, model_id)
    return await png_response(model_confusion_png, model)


@router.get(
    "/{model_id}/download",
    response_class=FileResponse,
    responses=_file_responses("application/octet-stream", "The `.keras` file."),
)
def download_model(model_id: str, services: ServicesDep) -> FileResponse:
    """Download the model's `.keras` file, for `keras.saving.load_model`."""
    path = Path(services.models.get_model(model_id).path)
    if not path.is_file():
        raise ModelUnavailableError(f"Model {model_id!r} has no file on disk.")
    return FileResponse(path, media_type="application/octet-stream", filename=f"{model_id}.keras")


@router.get(
    "/{model_id}/export",
    response_class=FileResponse,
    responses=_file_responses("application/gzip", "The export, as a `.tar.gz`."),
)
async def export_model(
    model_id: str,
    services: ServicesDep,
    format: Annotated[
        ExportFormat,
        Query(description="`saved_model`: a TensorFlow SavedModel, for TensorFlow Serving."),
    ],
) -> FileResponse:
    """Export the model for other servers: `<id>/1/` (a SavedModel taking raw pixels) in a
    `.tar.gz`, built on the first request."""
    model = await run_in_threadpool(services.models.get_model, model_id)
    archive = await services.exporter.archive(model, format)
    return FileResponse(
        archive, media_type="application/gzip", filename=f"{model_id}-{archive.name}"
    )


@router.delete("/{model_id}", status_code=204)
async def delete_model(model_id: str, services: ServicesDep) -> None:
    """Delete a trained model's record and files; predictions stop using it at once."""
    model = await run_in_threadpool(services.models.delete_model, model_id)
    await services.predictor.forget(model_id)
    folder = Path(model.path).parent
    if folder.parent == services.settings.models_dir.resolve():  # never outside DATA_DIR/models
        shutil.rmtree(folder, ignore_errors=True)
