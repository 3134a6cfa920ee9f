"""Saving a trained model as `.keras` plus its metadata, atomically, under DATA_DIR/models/."""

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import keras

from core.tables import TrainedModel

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"

PREPROCESSING = {
    "input": "RGB pixels, 0-255, shape (height, width, 3)",
    "color": "RGB: grayscale, palette, alpha and CMYK images are converted, alpha over white",
    "resize": "bilinear, to the input shape",
    "scaling": "inside the model (its own rescaling or normalisation layer)",
    "output": "logits; softmax gives class probabilities",
}


def save_trained_model(
    model: keras.Model, models_dir: Path, record: dict[str, Any]
) -> TrainedModel:
    """Write the model into a fresh folder, then rename it into place, then return its record."""
    model_id = uuid.uuid4().hex
    final = models_dir / model_id
    staging = models_dir / f".{model_id}.partial"
    staging.mkdir(parents=True)
    try:
        model.save(staging / MODEL_FILE)
        metadata = {
            "id": model_id,
            **record,
            "preprocessing": PREPROCESSING,
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
        }
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return TrainedModel(
        id=model_id, path=str((final / MODEL_FILE).resolve()), preprocessing=PREPROCESSING, **record
    )
