"""Trained models exported for other servers: a TensorFlow SavedModel that TensorFlow Serving
serves unchanged, built on the first request and kept beside the model's `.keras` file (so
deleting the model deletes it too).

TensorFlow is imported when the first export is built, not when the app starts.
"""

import asyncio
import json
import logging
import os
import tarfile
import tempfile
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from app.serving.keras_files import load_keras_model
from core.errors import ModelUnavailableError
from core.settings import Settings
from core.tables import TrainedModel

log = logging.getLogger("app.export")

SAVED_MODEL_ARCHIVE = "saved_model.tar.gz"
# TensorFlow Serving serves the numbered versions it finds under its model_base_path.
SERVING_VERSION = "1"
CLASS_NAMES_FILE = "assets.extra/class_names.json"  # TensorFlow Serving ignores assets.extra

ArchiveWriter = Callable[[TrainedModel, Path, Settings], None]


class ExportFormat(StrEnum):
    SAVED_MODEL = "saved_model"  # TensorFlow SavedModel (.tar.gz), for TensorFlow Serving


class ModelExporter:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._building: dict[tuple[str, ExportFormat], asyncio.Lock] = {}

    async def archive(self, record: TrainedModel, export_format: ExportFormat) -> Path:
        """The model's export, built on the first request (once, however many requests ask for
        it at the same time), off the event loop since it takes seconds."""
        file_name, write = ARCHIVES[export_format]
        archive = Path(record.path).parent / file_name
        if archive.is_file():
            return archive
        key = (record.id, export_format)
        async with self._building.setdefault(key, asyncio.Lock()):
            if not archive.is_file():
                await run_in_threadpool(_build_or_explain, write, record, archive, self._settings)
        self._building.pop(key, None)
        return archive


def _build_or_explain(
    write: ArchiveWriter, record: TrainedModel, archive: Path, settings: Settings
) -> None:
    try:
        write(record, archive, settings)
    except ImportError as error:
        raise ModelUnavailableError(
            f"Exporting a SavedModel needs TensorFlow, which this server lacks ({error})."
        ) from error
    except Exception as error:
        log.exception("model export failed", extra={"model_id": record.id})
        raise ModelUnavailableError(
            f"Model {record.id!r} could not be exported: {error}"
        ) from error


def write_saved_model_archive(record: TrainedModel, archive: Path, settings: Settings) -> None:
    """Write `<model id>/1/` (a SavedModel, in TensorFlow Serving's layout) into a `.tar.gz`,
    under a temporary name in the same folder, then rename it into place: a reader never sees
    a partial archive."""
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".export-") as staging:
        version = Path(staging) / record.id / SERVING_VERSION
        model = load_keras_model(record.path, settings)
        export_saved_model(model, tuple(record.input_shape), version)
        _write_class_names(version / CLASS_NAMES_FILE, record.class_names)
        partial = Path(staging) / archive.name
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(Path(staging) / record.id, arcname=record.id)
        os.replace(partial, archive)


def export_saved_model(model: Any, image_shape: tuple[int, ...], destination: Path) -> None:
    """A SavedModel whose `serving_default` signature takes raw pixels (`pixels`: float32,
    0-255, shape (batch, height, width, 3)) and returns `probabilities` (softmax of the model's
    logits, as the service answers) and `class_index` (the most probable class)."""
    import keras
    from keras import ops

    def serve(pixels: Any) -> dict[str, Any]:
        # The network rescales pixels itself, as it does for the service.
        logits = model(pixels, training=False)
        probabilities = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        return {"probabilities": probabilities, "class_index": ops.argmax(probabilities, axis=-1)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default",
        serve,
        input_signature=[keras.InputSpec(shape=(None, *image_shape), dtype="float32")],
    )
    archive.write_out(str(destination), verbose=False)


# Each format's file, kept in the model's folder, and what writes it.
ARCHIVES: dict[ExportFormat, tuple[str, ArchiveWriter]] = {
    ExportFormat.SAVED_MODEL: (SAVED_MODEL_ARCHIVE, write_saved_model_archive),
}


def _write_class_names(path: Path, class_names: list[str]) -> None:
    """A JSON array in `class_index` order: what the signature's indices mean. Not one name per
    line: a model from a dataset uploaded before names were checked may hold a newline in one,
    which would move every later name onto the wrong index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(class_names, ensure_ascii=False), encoding="utf-8")
