import asyncio
import gc
import os
import weakref

import pytest

from app.predictor import Predictor
from core.db import create_session_factory
from core.model_store import ModelStore
from tests.samples import save_untrained_model

pytestmark = pytest.mark.slow


def test_a_loaded_model_is_frozen_out_of_collections_and_collected_once_forgotten(settings):
    # Full collections over TensorFlow's millions of objects paused requests for 100-300 ms,
    # so what a load leaves is frozen; a forgotten model must not stay frozen in memory.
    record = save_untrained_model(settings, ["cat", "ship"])
    predictor = Predictor(ModelStore(create_session_factory(settings)), settings)

    async def scenario() -> tuple[weakref.ref, int]:
        model = weakref.ref((await predictor.load(record)).model)
        frozen = gc.get_freeze_count()
        await predictor.forget(record.id)
        await predictor.close()
        return model, frozen

    model, frozen_while_loaded = asyncio.run(scenario())

    assert frozen_while_loaded > 0
    assert model() is None


def test_a_loaded_model_runs_as_many_batches_at_once_as_the_settings_say(settings):
    settings = settings.model_copy(update={"predict_batches_in_flight": 3})
    record = save_untrained_model(settings, ["cat", "ship"])
    predictor = Predictor(ModelStore(create_session_factory(settings)), settings)

    async def scenario() -> int:
        batcher = (await predictor.load(record)).batcher
        await predictor.close()
        return batcher.batches_in_flight

    assert asyncio.run(scenario()) == 3


@pytest.mark.parametrize(("configured", "expected"), [(None, min(2, os.cpu_count() or 1)), (3, 3)])
def test_images_decode_on_as_many_threads_as_the_settings_say(settings, configured, expected):
    settings = settings.model_copy(update={"predict_decode_threads": configured})
    predictor = Predictor(ModelStore(create_session_factory(settings)), settings)

    assert predictor.decode_threads == expected
    asyncio.run(predictor.close())
