"""Datasets: the built-in ones and uploaded image-folder archives."""

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from app.deps import Limit, Offset, ServicesDep
from app.folders import remove_folder_within
from app.public_urls import public_url_for
from core.datasets.image_folder import check_image_size
from core.datasets.loading import dataset_dir
from core.datasets.registration import register_dataset_archive
from core.errors import InvalidInputError
from core.schemas import DatasetPublic, DatasetsPublic
from core.settings import Settings

router = APIRouter(prefix="/datasets", tags=["datasets"])

IMAGE_SIZE = re.compile(r"^\s*(\d{1,9})\s*(?:[xX]\s*(\d{1,9}))?\s*$")


@router.post("", status_code=202)
async def create_dataset(
    services: ServicesDep,
    request: Request,
    response: Response,
    file: Annotated[UploadFile, File(description="A .tar.gz, .tgz or .zip of train/<class>/...")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    image_size: Annotated[
        str | None,
        Form(
            description="`HxW` or `N` pixels, sides up to MAX_DATASET_IMAGE_SIDE; default: the "
            "first image's size, capped."
        ),
    ] = None,
) -> DatasetPublic:
    """Upload an image-folder archive; a worker checks and decodes its images in the background:
    the dataset is `processing` (follow it at the `Location` given), then `ready` or `failed`."""
    settings = services.settings
    # Refused before the upload is even staged: the size decides what decoding will cost.
    size = _parse_image_size(image_size, settings)
    staging = settings.data_dir / "uploads"
    staging.mkdir(parents=True, exist_ok=True)
    # The form's file part is already on disk (Starlette spools parts over 1 MiB); it is copied
    # in chunks, never read whole.
    with tempfile.NamedTemporaryFile(dir=staging, delete=False) as target:
        await run_in_threadpool(shutil.copyfileobj, file.file, target)
    upload = Path(target.name)
    try:
        dataset = await run_in_threadpool(
            register_dataset_archive,
            upload,
            file.filename or "archive",
            name,
            size,
            settings,
            services.datasets,
        )
    finally:
        upload.unlink(missing_ok=True)
    response.headers["Location"] = public_url_for(request, "read_dataset", dataset_id=dataset.id)
    return DatasetPublic.model_validate(dataset)


@router.get("")
def read_datasets(
    services: ServicesDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DatasetsPublic:
    """List datasets, newest first."""
    datasets, count = services.datasets.list_datasets(limit, offset)
    return DatasetsPublic(data=[DatasetPublic.model_validate(d) for d in datasets], count=count)


@router.get("/{dataset_id}")
def read_dataset(dataset_id: str, services: ServicesDep) -> DatasetPublic:
    """A dataset's status and progress; once ready, its classes, image shape and image counts
    per split."""
    return DatasetPublic.model_validate(services.datasets.get_dataset(dataset_id))


@router.delete("/{dataset_id}", status_code=204, responses={409: {}})
def delete_dataset(dataset_id: str, services: ServicesDep) -> None:
    """Delete an uploaded dataset's record and files (its archive and arrays); jobs that ended
    and models trained on it stay. Refused (409) while a queued or running job uses it, while it
    is being prepared, and for the built-in `cifar10`."""
    services.datasets.delete_dataset(dataset_id)
    # Files go after the row: a crash between the two leaves files that no row points at, not a
    # ready dataset whose arrays are gone, which every job trained on it would fail to load.
    remove_folder_within(dataset_dir(services.settings, dataset_id), services.settings.datasets_dir)


def _parse_image_size(text: str | None, settings: Settings) -> tuple[int, int] | None:
    if not text:
        return None
    match = IMAGE_SIZE.match(text)
    if match is None or int(match[1]) == 0 or (match[2] is not None and int(match[2]) == 0):
        raise InvalidInputError(
            f"Invalid value for `image_size`. Received: {text!r}. Expected `HxW` or `N`, "
            f"positive integers up to {settings.max_dataset_image_side}."
        )
    height = int(match[1])
    size = height, int(match[2]) if match[2] else height
    check_image_size(size, settings.max_dataset_image_side, settings.max_image_pixels)
    return size
