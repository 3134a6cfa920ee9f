"""Saved models kept loaded (and compiled, and warmed up) in a small cache: the default model
(the default name's production version) kept loaded in the background, and switched to a new
production version only once that is loaded; others loaded on first use and evicted least
recently used first.

Keras (and so TensorFlow) is imported when the first model loads, not when the app starts.
"""

import asyncio
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from app.serving.batcher import MicroBatcher
from app.serving.compiled_call import Forward, compile_forward, warm_up
from app.serving.keras_files import load_keras_model
from core.errors import ConflictError, ModelUnavailableError
from core.model_registry import ModelRegistry
from core.settings import Settings
from core.tables import TrainedModel

log = logging.getLogger("app.serving.model_cache")


@dataclass
class LoadedModel:
    record: TrainedModel
    model: Any  # keras.Model
    batcher: MicroBatcher

    @property
    def image_size(self) -> tuple[int, int]:
        height, width, _ = self.record.input_shape
        return height, width


class ModelCache:
    def __init__(
        self,
        registry: ModelRegistry,
        settings: Settings,
        on_load: Callable[[float], None] | None = None,  # told each load's seconds
        on_batch: Callable[[int], None] | None = None,  # told each batch's size
        on_switch: Callable[[TrainedModel | None], None] | None = None,  # told the new default
    ) -> None:
        self._registry = registry
        self._settings = settings
        self._on_load = on_load
        self._on_batch = on_batch
        self._on_switch = on_switch
        self._cache: OrderedDict[str, LoadedModel] = OrderedDict()
        # The model that answers requests naming none; it changes only once the next one has
        # loaded, so no request waits for a load (or one that failed, while another serves).
        self._default_id: str | None = None
        # Production versions that failed to load in the background, and why.
        self._failed: dict[str, str] = {}
        self._production_failure: str | None = None  # of the one the last look found
        self._one_load_at_a_time = asyncio.Lock()

    async def get(self, reference: str | None) -> LoadedModel:
        """The model a reference names (an id, a name, `name@alias`, `name@<version>`), or the
        default one, loaded if it is not yet. The default model, and a model named by an id
        that is loaded, come from memory, without a database query: the background loader
        keeps the default one loaded and current."""
        loaded = self._cached(reference or self._default_id)
        if loaded is not None:
            return loaded
        if reference:
            return await self.load(await run_in_threadpool(self._registry.resolve, reference))
        return await self.load(await run_in_threadpool(self._default_record))

    async def load(self, record: TrainedModel) -> LoadedModel:
        """The model, from the cache or loaded, compiled and warmed up (once, however many
        requests ask for it at the same time)."""
        if (cached := self._cached(record.id)) is not None:
            return cached
        # One load at a time, however many requests ask for it or for others: each holds the GIL
        # for a long while, and requests for the models already loaded must go on meanwhile.
        async with self._one_load_at_a_time:
            if record.id not in self._cache:
                await self._load_into_cache(record)
        return self._cache[record.id]

    def is_loaded(self, model_id: str) -> bool:
        return model_id in self._cache

    def serving(self) -> TrainedModel | None:
        """The loaded model that answers requests naming none."""
        loaded = self._cache.get(self._default_id or "")
        return loaded.record if loaded is not None else None

    async def load_default_in_background(self) -> None:
        """Keep the default model loaded, and follow its name's production alias."""
        while True:
            await self.load_default()
            await asyncio.sleep(self._settings.intervals.model_poll_seconds)

    async def load_default(self) -> None:
        """Load the default name's production version if it is not loaded, then answer with it;
        one that failed is tried once only (the version serving before goes on), and readiness
        and requests for it say why."""
        try:
            production = await run_in_threadpool(self._registry.default_model)
            if (
                production is not None
                and production.id not in self._failed
                and not self.is_loaded(production.id)
            ):
                try:
                    await self.load(production)
                except ModelUnavailableError as error:
                    self._failed[production.id] = error.message
            self._production_failure = self._failed.get(production.id) if production else None
            self._switch_to(production)
        except Exception:
            log.warning("could not look for or load the production model", exc_info=True)

    def production_failure(self) -> str | None:
        """Why the production version found last could not be loaded (while another may go on
        serving); None if it loaded."""
        return self._production_failure

    def load_failure(self, model_id: str) -> str | None:
        """Why a production version, tried in the background, could not be loaded; None if it
        was not tried or loaded."""
        return self._failed.get(model_id)

    async def forget(self, model_id: str) -> None:
        """Drop a deleted model from memory."""
        if self._default_id == model_id:
            self._switch_to(None)
        if model_id in self._cache:
            await self._unload(model_id)

    async def close(self) -> None:
        while self._cache:
            await self._unload(next(iter(self._cache)))

    def _switch_to(self, production: TrainedModel | None) -> None:
        new_id = production.id if production is not None else None
        failed = production is not None and not self.is_loaded(production.id)
        if failed and self.serving() is not None:
            return  # the version loaded before goes on serving
        if new_id == self._default_id:
            return
        old, self._default_id = self._default_id, new_id
        log.info("default model switched", extra={"model_id": new_id, "previous_model_id": old})
        if self._on_switch is not None:
            self._on_switch(self.serving())

    def _default_record(self) -> TrainedModel:
        name = self._registry.default_name()
        if name is None:
            raise ConflictError(
                "No trained model yet: start a job with POST /train and predict once it succeeds."
            )
        return self._registry.resolve(name)  # its production version

    def _cached(self, model_id: str | None) -> LoadedModel | None:
        """A loaded model, marked as the most recently used."""
        if model_id is None or model_id not in self._cache:
            return None
        self._cache.move_to_end(model_id)
        return self._cache[model_id]

    async def _load_into_cache(self, record: TrainedModel) -> None:
        started = time.monotonic()
        try:
            model, forward = await asyncio.to_thread(self._load_and_warm_up, record)
        except Exception as error:
            log.exception("model failed to load", extra={"model_id": record.id})
            raise ModelUnavailableError(_why_it_failed_to_load(record)) from error
        batcher = MicroBatcher(
            forward,
            self._settings.prediction.batch_window_ms / 1000,
            self._settings.prediction.max_batch,
            self._on_batch,
            self._settings.prediction.batches_in_flight,
        )
        self._cache[record.id] = LoadedModel(record, model, batcher)
        seconds = time.monotonic() - started
        log.info("model loaded", extra={"model_id": record.id, "seconds": seconds})
        if self._on_load is not None:
            self._on_load(seconds)
        await self._evict_beyond(self._settings.model_cache_size, keep=record.id)

    async def _evict_beyond(self, size: int, keep: str) -> None:
        """Unload the least recently used models beyond `size`, but never the default model
        (whose requests would wait for it to load again) or `keep`, the one just loaded."""
        evictable = [id_ for id_ in self._cache if id_ not in (self._default_id, keep)]
        for model_id in evictable[: max(0, len(self._cache) - size)]:
            await self._unload(model_id)

    async def _unload(self, model_id: str) -> None:
        await self._cache.pop(model_id).batcher.close()
        # Collected now rather than at some later full collection, as a model's memory is
        # large: only what was not frozen at import is walked, which is quick.
        gc.collect()

    def _load_and_warm_up(self, record: TrainedModel) -> tuple[Any, Forward]:
        model = load_keras_model(record.path, self._settings)
        forward = compile_forward(model)
        warm_up(forward, tuple(record.input_shape), self._settings.prediction.max_batch)
        return model, forward


def _why_it_failed_to_load(record: TrainedModel) -> str:
    """The reason, in words that name the model but not the server's files (the log has the
    error itself)."""
    problem = (
        "is damaged or is not a Keras model this server can read"
        if Path(record.path).is_file()
        else "is missing"
    )
    return (
        f"Model {record.id!r} could not be loaded: its file {problem}. Train it again, or "
        "delete it."
    )
