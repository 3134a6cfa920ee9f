"""Predictions from saved models, kept loaded (and compiled, and warmed up) in a small cache.

Keras (and so TensorFlow) is imported when the first model loads, not when the app starts.
"""

import asyncio
import gc
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from app.batcher import BatcherClosed, MicroBatcher
from app.inference import compile_forward, warm_up
from core.errors import InvalidInputError, ModelUnavailableError, UnsupportedMediaError
from core.images import decode_rgb, plain_jpeg_pixels
from core.model_store import ModelStore
from core.settings import Settings
from core.tables import TrainedModel

log = logging.getLogger("app.predictor")

# Decoders release the GIL, but the Python around each image needs it back, so more threads
# only fight over it: on a 16-core GPU machine, 2 answered 32-image requests 25-39 % faster
# than 16 (or 4), single images alike.
DEFAULT_DECODE_THREADS = 2


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


# Images this small are decoded on the event loop: a 32x32 JPEG takes 15-20 µs there, while the
# trip to a decode thread and back costs the request 100 µs or more, and the decoders, taking the
# GIL back after each image, kept the model's threads waiting for it (on the 2-core CPU, 32-image
# requests got 8-20 % more images/s decoded on the loop, in two runs). These bounds (a full batch of
# CIFAR-sized images, about 1 ms of decoding) keep any upload from holding the loop for long:
# larger ones go to the threads.
LOOP_DECODE_PIXELS = 64 * 32 * 32
LOOP_DECODE_BYTES = 128 * 1024


def decodes_quickly(uploads: list[Upload]) -> bool:
    """Whether the images are plain JPEGs small enough, all together, to decode on the event
    loop (sized by their headers, before decoding)."""
    if sum(len(upload.data) for upload in uploads) > LOOP_DECODE_BYTES:
        return False
    pixels = 0
    for upload in uploads:
        count = plain_jpeg_pixels(upload.data)
        if count is None:
            return False
        pixels += count
    return pixels <= LOOP_DECODE_PIXELS


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
        self._newest_id: str | None = None  # the default model, once loaded
        self._failed: set[str] = set()  # newest models that failed to load in the background
        # A plain executor costs about a third of AnyIO's thread pool per trip, and every
        # request makes one.
        self.decode_threads = settings.predict_decode_threads or min(
            DEFAULT_DECODE_THREADS, os.cpu_count() or 1
        )
        self._decoder = ThreadPoolExecutor(self.decode_threads, thread_name_prefix="decode")

    async def predict(
        self, uploads: list[Upload], model_id: str | None, top_k: int
    ) -> tuple[TrainedModel, list[list[dict]]]:
        """The `top_k` classes of each image (`Prediction`s, as dicts: this is the hot path),
        from one batched call into the model."""
        loaded = self._loaded_for(model_id)
        if loaded is None:
            loaded = await self.load(await run_in_threadpool(self._record, model_id))
        record = loaded.record
        if decodes_quickly(uploads):
            pixels = self._decode_all(uploads, loaded.image_size)
        else:  # one trip to the thread pool per request, whatever the number of images
            pixels = await asyncio.get_running_loop().run_in_executor(
                self._decoder, self._decode_all, uploads, loaded.image_size
            )
        try:
            probabilities = await loaded.batcher.submit(pixels)
        except BatcherClosed:  # unloaded meanwhile: load it again
            probabilities = await (await self.load(record)).batcher.submit(pixels)
        return record, _top_k(record.class_names, probabilities, top_k)

    def _loaded_for(self, model_id: str | None) -> LoadedModel | None:
        """The model from memory, without a database query: a named one if loaded, or the
        newest one, which the background loader keeps loaded and up to date."""
        return self._cached(model_id or self._newest_id)

    def _cached(self, model_id: str | None) -> LoadedModel | None:
        """A loaded model, marked as the most recently used."""
        if model_id not in self._cache:
            return None
        self._cache.move_to_end(model_id)
        return self._cache[model_id]

    async def load(self, record: TrainedModel) -> LoadedModel:
        """The model, from the cache or loaded, compiled and warmed up (once, however many
        requests ask for it at the same time)."""
        if (cached := self._cached(record.id)) is not None:
            return cached
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
                    self._settings.predict_batches_in_flight,
                )
                self._cache[record.id] = LoadedModel(record, model, batcher)
                seconds = time.monotonic() - started
                log.info("model loaded", extra={"model_id": record.id, "seconds": seconds})
                if self._on_load is not None:
                    self._on_load(seconds)
                await self._evict_beyond(self._settings.model_cache_size)
                # After eviction, so that an evicted model is collected rather than frozen.
                await asyncio.to_thread(_freeze_long_lived_objects)
        self._loading.pop(record.id, None)
        return self._cache[record.id]

    def is_loaded(self, model_id: str) -> bool:
        return model_id in self._cache

    async def load_newest_in_background(self) -> None:
        """Keep the newest model (the default one) loaded, so no request waits for its load."""
        while True:
            await self.load_newest()
            await asyncio.sleep(self._settings.model_poll_seconds)

    async def load_newest(self) -> None:
        """Load the newest model if it is not loaded; a model that failed is tried once only,
        and requests for it will say why."""
        try:
            newest = await run_in_threadpool(self._models.find_newest_model)
            if (
                newest is not None
                and newest.id not in self._failed
                and not self.is_loaded(newest.id)
            ):
                self._failed.add(newest.id)
                await self.load(newest)
                self._failed.discard(newest.id)
            self._newest_id = newest.id if newest is not None else None
        except Exception:
            log.warning("could not look for or load the newest model", exc_info=True)

    async def forget(self, model_id: str) -> None:
        """Drop a deleted model from memory."""
        if self._newest_id == model_id:
            self._newest_id = None
        loaded = self._cache.pop(model_id, None)
        if loaded is not None:
            await loaded.batcher.close()
            del loaded
            await asyncio.to_thread(_freeze_long_lived_objects)  # and the model is collected

    async def close(self) -> None:
        await self._evict_beyond(0)
        self._decoder.shutdown(wait=False)

    async def _evict_beyond(self, size: int) -> None:
        while len(self._cache) > size:
            _, evicted = self._cache.popitem(last=False)
            await evicted.batcher.close()

    def _record(self, model_id: str | None) -> TrainedModel:
        return self._models.get_model(model_id) if model_id else self._models.newest_model()

    def _decode_all(self, uploads: list[Upload], size: tuple[int, int]) -> np.ndarray:
        return np.stack([self._decode(upload, size) for upload in uploads])

    def _decode(self, upload: Upload, size: tuple[int, int]) -> np.ndarray:
        try:
            return decode_rgb(upload.data, size, self._settings.max_image_pixels)
        except (InvalidInputError, UnsupportedMediaError) as error:
            if upload.filename:
                error.message = f"{upload.filename}: {error.message}"
                error.args = (error.message,)
            raise

    def _load_and_warm_up(self, record: TrainedModel) -> tuple[Any, Any]:
        model = load_keras_model(record.path, self._settings)
        forward = compile_forward(model)
        warm_up(forward, tuple(record.input_shape), self._settings.predict_max_batch)
        return model, forward


def load_keras_model(path: str, settings: Settings) -> Any:
    """A saved `.keras` model (uncompiled), with the project's custom layers registered, in a
    process whose TensorFlow is set up for serving."""
    import keras

    import models.layers  # noqa: F401  registers the custom layers saved models use
    from app.tensorflow_threads import size_thread_pools_for_serving
    from core.gpu_memory import enable_gpu_memory_growth

    enable_gpu_memory_growth()
    size_thread_pools_for_serving(settings)
    # safe_mode refuses models that carry arbitrary code (Lambda layers).
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def _freeze_long_lived_objects() -> None:
    """Keras, TensorFlow and the loaded models hold millions of objects that live on. Each full
    collection walked them all, pausing every request for 100-300 ms (seen under load on 2
    cores); frozen, collections skip them. Everything is looked at once more first, so that
    garbage, an unloaded model's included, is collected rather than frozen."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _top_k(class_names: list[str], probabilities: np.ndarray, k: int) -> list[list[dict]]:
    best = np.argsort(-probabilities, axis=1)[:, :k]
    # Converted to Python numbers in bulk: per element, numpy scalars cost twice as much.
    chosen = np.take_along_axis(probabilities, best, axis=1).tolist()
    return [
        [
            {"label": class_names[i], "index": i, "probability": p}
            for i, p in zip(order, row, strict=True)
        ]
        for order, row in zip(best.tolist(), chosen, strict=True)
    ]
