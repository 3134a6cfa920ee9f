import asyncio
import io
import os

import numpy as np
import pytest
from PIL import Image

from app.serving.decoding import LOOP_DECODE_PIXELS, decodes_quickly
from app.serving.model_cache import ModelCache
from app.serving.predictor import Predictor
from app.serving.uploads import Upload
from core.db import create_session_factory
from core.model_registry import ModelRegistry
from core.tuning import PredictionTuning
from devkit.samples import cifar_samples
from devkit.saved_models import save_untrained_model

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("configured", "expected"), [(None, min(2, os.cpu_count() or 1)), (3, 3)])
def test_images_decode_on_as_many_threads_as_the_settings_say(settings, configured, expected):
    tuning = PredictionTuning(decode_threads=configured)
    settings = settings.model_copy(update={"prediction": tuning})
    predictor = Predictor(
        ModelCache(ModelRegistry(create_session_factory(settings)), settings), settings
    )

    assert predictor.decode_threads == expected
    predictor.close()


def _cifar_uploads(count: int) -> list[Upload]:
    cats = cifar_samples()["train"]["cat"] + cifar_samples()["test"]["cat"]
    assert len(cats) >= count
    return [Upload(f"{i}.jpg", data) for i, data in enumerate(cats[:count])]


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_only_a_few_small_plain_jpegs_are_decoded_on_the_event_loop():
    fits = LOOP_DECODE_PIXELS // (32 * 32)
    png = io.BytesIO()
    Image.new("RGB", (32, 32)).save(png, "PNG")

    assert decodes_quickly(_cifar_uploads(1))
    assert decodes_quickly(_cifar_uploads(fits))
    assert not decodes_quickly(_cifar_uploads(fits + 1))
    assert decodes_quickly([Upload("photo.jpg", _jpeg(160, 120))])
    assert not decodes_quickly([Upload("big.jpg", _jpeg(300, 300))])
    assert not decodes_quickly([*_cifar_uploads(1), Upload("small.png", png.getvalue())])


def test_an_image_gets_the_same_answer_whether_decoded_on_the_event_loop_or_in_a_thread(settings):
    record = save_untrained_model(settings, ["cat", "ship"])
    cache = ModelCache(ModelRegistry(create_session_factory(settings)), settings)
    predictor = Predictor(cache, settings)
    alone = _cifar_uploads(1)
    crowded = [*alone, Upload("big.jpg", _jpeg(300, 300))]
    assert decodes_quickly(alone) and not decodes_quickly(crowded)

    async def scenario() -> tuple[list, list]:
        _, on_loop = await predictor.predict(alone, record.id, 2)
        _, in_thread = await predictor.predict(crowded, record.id, 2)
        await cache.close()
        predictor.close()
        return on_loop, in_thread

    on_loop, in_thread = asyncio.run(scenario())

    by_label = [
        {p["label"]: p["probability"] for p in answer} for answer in (on_loop[0], in_thread[0])
    ]
    assert by_label[0].keys() == by_label[1].keys() == {"cat", "ship"}
    np.testing.assert_allclose(
        [by_label[0]["cat"], by_label[0]["ship"]],
        [by_label[1]["cat"], by_label[1]["ship"]],
        rtol=1e-5,
    )
