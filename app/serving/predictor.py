"""Predictions: a request's images decoded, run through a cached model in a batch with other
requests' images, and each image's most probable classes picked."""

from collections.abc import Hashable
from typing import Any

import numpy as np

from app.serving.batcher import BatcherClosed
from app.serving.decoding import ImageDecoder
from app.serving.model_cache import ModelCache
from app.serving.uploads import Upload
from core.settings import Settings
from core.tables import TrainedModel


class Predictor:
    def __init__(self, cache: ModelCache, settings: Settings) -> None:
        self._cache = cache
        self._decoder = ImageDecoder(settings)

    @property
    def decode_threads(self) -> int:
        return self._decoder.threads

    async def predict(
        self, uploads: list[Upload], model: str | None, top_k: int, client: Hashable = None
    ) -> tuple[TrainedModel, list[list[dict[str, Any]]]]:
        """The `top_k` classes of each image (`Prediction`s, as dicts: this is the hot path),
        from one batched call into the model `model` names (the default one if None); `client`
        is whom decoding is shared among. The model is held to the end, so a request finishes
        on the version it started with, however the aliases move meanwhile."""
        loaded = await self._cache.get(model)
        record = loaded.record
        pixels = await self._decoder.decode(uploads, loaded.image_size, client)
        try:
            probabilities = await loaded.batcher.submit(pixels)
        except BatcherClosed:  # unloaded meanwhile: load it again
            probabilities = await (await self._cache.load(record)).batcher.submit(pixels)
        return record, _top_k(record.class_names, probabilities, top_k)

    def close(self) -> None:
        self._decoder.close()


def _top_k(class_names: list[str], probabilities: np.ndarray, k: int) -> list[list[dict[str, Any]]]:
    best = np.argsort(-probabilities, axis=1)[:, :k]
    # Converted to Python numbers in bulk: per element, numpy scalars cost more.
    chosen = np.take_along_axis(probabilities, best, axis=1).tolist()
    return [
        [
            {"label": class_names[i], "index": i, "probability": p}
            for i, p in zip(order, row, strict=True)
        ]
        for order, row in zip(best.tolist(), chosen, strict=True)
    ]
