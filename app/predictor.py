"""Predictions from saved models, kept loaded in a small cache.

Keras (and so TensorFlow) is imported on the first prediction, not when the app starts.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.images import decode_rgb
from core.model_store import ModelStore
from core.schemas import Prediction, PredictionPublic
from core.tables import TrainedModel


@dataclass
class LoadedModel:
    record: TrainedModel
    model: Any  # keras.Model

    @property
    def image_size(self) -> tuple[int, int]:
        height, width, _ = self.record.input_shape
        return height, width


class Predictor:
    def __init__(self, models: ModelStore, cache_size: int, max_pixels: int) -> None:
        self._models = models
        self._cache_size = cache_size
        self._max_pixels = max_pixels
        self._cache: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def predict(self, image: bytes, model_id: str | None, top_k: int) -> PredictionPublic:
        record = self._models.get_model(model_id) if model_id else self._models.newest_model()
        loaded = self._load(record)
        pixels = decode_rgb(image, loaded.image_size, self._max_pixels)
        probabilities = self._probabilities(loaded, pixels[np.newaxis])[0]
        best = np.argsort(-probabilities)[: min(top_k, len(probabilities))]
        return PredictionPublic(
            model_id=record.id,
            predictions=[
                Prediction(
                    label=record.class_names[i], index=int(i), probability=float(probabilities[i])
                )
                for i in best
            ],
        )

    def forget(self, model_id: str) -> None:
        """Drop a deleted model from memory."""
        with self._lock:
            self._cache.pop(model_id, None)

    def _load(self, record: TrainedModel) -> LoadedModel:
        with self._lock:
            if record.id in self._cache:
                self._cache.move_to_end(record.id)
                return self._cache[record.id]
            import keras

            import models.layers  # noqa: F401  registers the custom layers saved models use
            from core.gpu_memory import enable_gpu_memory_growth

            enable_gpu_memory_growth()
            # safe_mode refuses models that carry arbitrary code (Lambda layers).
            model = keras.saving.load_model(record.path, compile=False, safe_mode=True)
            loaded = LoadedModel(record, model)
            self._cache[record.id] = loaded
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return loaded

    @staticmethod
    def _probabilities(loaded: LoadedModel, batch: np.ndarray) -> np.ndarray:
        import keras

        logits = keras.ops.convert_to_numpy(loaded.model(batch.astype(np.float32), training=False))
        logits = logits.astype(np.float64)
        exponents = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exponents / exponents.sum(axis=1, keepdims=True)
