"""Taking in an uploaded archive: kept as given, and recorded for a worker to prepare."""

import shutil
import uuid
from pathlib import Path

from core.datasets.archives import check_archive_type
from core.datasets.loading import dataset_dir, source_archive_path
from core.datasets.status import DatasetStatus
from core.datasets.store import DatasetStore
from core.settings import Settings
from core.tables import Dataset


def register_dataset_archive(
    upload: Path,
    filename: str,
    name: str | None,
    image_size: tuple[int, int] | None,
    settings: Settings,
    store: DatasetStore,
) -> Dataset:
    """Move `upload` into a new dataset's folder and record the dataset as processing; only
    what its first bytes tell is checked here, the rest by the worker that prepares it."""
    check_archive_type(upload)
    dataset_id = uuid.uuid4().hex
    folder = dataset_dir(settings, dataset_id)
    folder.mkdir(parents=True)
    try:
        # The user's archive is kept as given, so the dataset can always be prepared again.
        shutil.move(upload, source_archive_path(settings, dataset_id, filename))
        return store.add_dataset(
            Dataset(
                id=dataset_id,
                name=name or Path(filename).name or dataset_id,
                kind="image_folder",
                status=DatasetStatus.PROCESSING,
                source_filename=filename,
                requested_image_size=list(image_size) if image_size else None,
                progress={"done": 0, "total": None},
                attempts=0,
            )
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
