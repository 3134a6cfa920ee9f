"""Trained models."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from app.binary_responses import PNG_RESPONSES, binary_responses, png_response
from app.deps import Limit, ModelDep, Offset, ServicesDep
from app.export import ExportFormat
from app.folders import remove_folder_within
from app.services import Services
from core.errors import ModelUnavailableError
from core.plots import model_confusion_png
from core.schemas import ModelPublic, ModelsPublic
from core.tables import TrainedModel

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def read_models(
    services: ServicesDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ModelsPublic:
    """List trained models, newest first."""
    models, count = services.models.list_models(limit, offset)
    return ModelsPublic(data=public_models(services, models), count=count)


@router.get("/{model_id}")
def read_model(model_id: str, services: ServicesDep) -> ModelPublic:
    """A model's name, version, aliases, classes, input shape, dataset, architecture,
    parameters and metrics."""
    return public_models(services, [services.models.get_model(model_id)])[0]


@router.get("/{model_id}/confusion.png", response_class=Response, responses=PNG_RESPONSES)
async def read_model_confusion(model: ModelDep) -> Response:
    """The model's confusion matrix on its test split (true vs predicted class), as a PNG."""
    return await png_response(model_confusion_png, model)


@router.get(
    "/{model_id}/download",
    response_class=FileResponse,
    responses=binary_responses("application/octet-stream", "The `.keras` file.", 404, 503),
)
def download_model(model: ModelDep) -> FileResponse:
    """Download the model's `.keras` file, for `keras.saving.load_model`."""
    path = Path(model.path)
    if not path.is_file():
        raise ModelUnavailableError(f"Model {model.id!r} has no file on disk.")
    return FileResponse(path, media_type="application/octet-stream", filename=f"{model.id}.keras")


@router.get(
    "/{model_id}/export",
    response_class=FileResponse,
    responses=binary_responses("application/gzip", "The export, as a `.tar.gz`.", 404, 503),
)
async def export_model(
    model: ModelDep,
    services: ServicesDep,
    format: Annotated[
        ExportFormat,
        Query(description="`saved_model`: a TensorFlow SavedModel, for TensorFlow Serving."),
    ],
) -> FileResponse:
    """Export the model for other servers: `<id>/1/` (a SavedModel taking raw pixels) in a
    `.tar.gz`, built on the first request."""
    archive = await services.exporter.archive(model, format)
    return FileResponse(
        archive, media_type="application/gzip", filename=f"{model.id}-{archive.name}"
    )


@router.delete("/{model_id}", status_code=204)
async def delete_model(model_id: str, services: ServicesDep) -> None:
    """Delete a trained model's record and files; predictions stop using it at once. Refused
    (409) while an alias points at it."""
    model = await run_in_threadpool(services.registry.delete_model, model_id)
    await services.model_cache.forget(model_id)
    remove_folder_within(Path(model.path).parent, services.settings.models_dir)


def public_models(services: Services, models: list[TrainedModel]) -> list[ModelPublic]:
    aliases = services.registry_listing.aliases_of_models(models)
    return [public_model(model, aliases[model.id]) for model in models]


def public_model(model: TrainedModel, aliases: list[str]) -> ModelPublic:
    return ModelPublic.model_validate(model).model_copy(update={"aliases": aliases})
