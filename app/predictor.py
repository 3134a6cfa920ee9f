"""Predictions from saved models, kept loaded (and compiled, and warmed up) in a small cache.

Keras (and so TensorFlow) is imported when the first model loads, not when the app starts.
"""

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from app.batcher import BatcherClosed, MicroBatcher
from app.inference import compile_forward, warm_up
from core.errors import InvalidInputError, ModelUnavailableError, UnsupportedMediaError
from core.images import decode_rgb
from core.model_store import ModelStore
from core.schemas import Prediction
from core.settings import Settings
from core.tables import TrainedModel

log = logging.getLogger("app.predictor")


@dataclass
class LoadedModel:
    record: TrainedModel
    model: Any  # keras.Model
    batcher: MicroBatcher

    @property
    def image_size(self) -> tuple[int, int]:
        height, width, _ = self.record.input_shape
        return height, width


@dataclass
class Upload:
    filename: str | None
    data: bytes


class Predictor:
    def __init__(
        self,
        models: ModelStore,
        settings: Settings,
        on_load: Callable[[float], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._models = models
        self._settings = settings
        self._on_load = on_load
        self._on_batch = on_batch
        self._cache: OrderedDict[str, LoadedModel] = OrderedDict()
        self._loading: dict[str, asyncio.Lock] = {}

    async def predict(
        self, uploads: list[Upload], model_id: str | None, top_k: int
    ) -> tuple[TrainedModel, list[list[Prediction]]]:
        """The `top_k` classes of each image, from one batched call into the model."""
        record = await run_in_threadpool(self._record, model_id)
        loaded = await self.load(record)
        pixels = await asyncio.gather(*(self._decode(upload, loaded) for upload in uploads))
        try:
            logits = await loaded.batcher.submit(np.stack(pixels))
        except BatcherClosed:  # unloaded meanwhile: load it again
            logits = await (await self.load(record)).batcher.submit(np.stack(pixels))
        return record, [_top_k(record, row, top_k) for row in _softmax(logits)]

    async def load(self, record: TrainedModel) -> LoadedModel:
        """The model, from the cache or loaded, compiled and warmed up (once, however many
        requests ask for it at the same time)."""
        if record.id in self._cache:
            self._cache.move_to_end(record.id)
            return self._cache[record.id]
        async with self._loading.setdefault(record.id, asyncio.Lock()):
            if record.id not in self._cache:
                started = time.monotonic()
                try:
                    model, forward = await asyncio.to_thread(self._load_and_warm_up, record)
                except Exception as error:
                    log.exception("model failed to load", extra={"model_id": record.id})
                    raise ModelUnavailableError(
                        f"Model {record.id!r} could not be loaded: {error}"
                    ) from error
                batcher = MicroBatcher(
                    forward,
                    self._settings.predict_batch_window_ms / 1000,
                    self._settings.predict_max_batch,
                    self._on_batch,
                )
                self._cache[record.id] = LoadedModel(record, model, batcher)
                seconds = time.monotonic() - started
                log.info("model loaded", extra={"model_id": record.id, "seconds": seconds})
                if self._on_load is not None:
                    self._on_load(seconds)
                await self._evict_beyond(self._settings.model_cache_size)
        self._loading.pop(record.id, None)
        return self._cache[record.id]

    def is_loaded(self, model_id: str) -> bool:
        return model_id in self._cache

    async def load_newest_in_background(self) -> None:
        """Keep the newest model (the default one) loaded, so no request waits for its load."""
        failed: set[str] = set()  # tried once in the background; requests will say why
        while True:
            try:
                newest = await run_in_threadpool(self._models.find_newest_model)
                if newest is not None and newest.id not in failed and not self.is_loaded(newest.id):
                    failed.add(newest.id)
                    await self.load(newest)
                    failed.discard(newest.id)
            except Exception:
                log.warning("could not look for or load the newest model", exc_info=True)
            await asyncio.sleep(self._settings.model_poll_seconds)

    async def forget(self, model_id: str) -> None:
        """Drop a deleted model from memory."""
        loaded = self._cache.pop(model_id, None)
        if loaded is not None:
            await loaded.batcher.close()

    async def close(self) -> None:
        await self._evict_beyond(0)

    async def _evict_beyond(self, size: int) -> None:
        while len(self._cache) > size:
            _, evicted = self._cache.popitem(last=False)
            await evicted.batcher.close()

    def _record(self, model_id: str | None) -> TrainedModel:
        return self._models.get_model(model_id) if model_id else self._models.newest_model()

    async def _decode(self, upload: Upload, loaded: LoadedModel) -> np.ndarray:
        try:
            return await run_in_threadpool(
                decode_rgb, upload.data, loaded.image_size, self._settings.max_image_pixels
            )
        except (InvalidInputError, UnsupportedMediaError) as error:
            if upload.filename:
                error.message = f"{upload.filename}: {error.message}"
                error.args = (error.message,)
            raise

    def _load_and_warm_up(self, record: TrainedModel) -> tuple[Any, Any]:
        import keras

        import models.layers  # noqa: F401  registers the custom layers saved models use
        from core.gpu_memory import enable_gpu_memory_growth

        enable_gpu_memory_growth()
        # safe_mode refuses models that carry arbitrary code (Lambda layers).
        model = keras.saving.load_model(record.path, compile=False, safe_mode=True)
        forward = compile_forward(model)
        warm_up(forward, tuple(record.input_shape), self._settings.predict_max_batch)
        return model, forward


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    exponents = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exponents / exponents.sum(axis=1, keepdims=True)


def _top_k(record: TrainedModel, probabilities: np.ndarray, k: int) -> list[Prediction]:
    best = np.argsort(-probabilities)[: min(k, len(probabilities))]
    return [
        Prediction(label=record.class_names[i], index=int(i), probability=float(probabilities[i]))
        for i in best
    ]
