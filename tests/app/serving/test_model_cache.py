"""Models loaded on demand: what a load costs the requests for models already loaded, and
what a model that cannot be loaded tells its users."""

import asyncio
import gc
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.serving.model_cache import ModelCache
from core.db import create_session_factory
from core.model_names import PRODUCTION
from core.model_registry import ModelRegistry
from core.status import JobStatus
from core.tuning import PredictionTuning
from devkit.samples import cifar_samples
from devkit.saved_models import save_untrained_model

pytestmark = pytest.mark.slow


def _predict(client: TestClient, model_id: str | None = None):
    image = cifar_samples()["test"]["ship"][0]
    query = {"model": model_id} if model_id else {}
    return client.post("/predict", params=query, files={"file": ("ship.jpg", image)})


def _wait_until_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 60
    while (ready := client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, ready.json()
        time.sleep(0.05)


def test_the_default_model_stays_loaded_while_a_client_cycles_through_other_models(
    settings, make_model
):
    settings.model_cache_size = 2
    settings.intervals.model_poll_seconds = 600  # only the first look loads the default model
    default = make_model()  # the production version
    others = [make_model() for _ in range(3)]

    app = create_app(settings)
    with TestClient(app) as client:
        _wait_until_ready(client)
        cache = app.state.services.model_cache
        for model in others * 2:
            assert _predict(client, model.id).status_code == 200
            assert cache.is_loaded(default.id)
        answered_by = _predict(client).json()["model_id"]

    assert answered_by == default.id


def test_models_load_one_at_a_time(settings, make_model, monkeypatch):
    models = [make_model() for _ in range(3)]
    loading, most_at_once = 0, 0
    counting = threading.Lock()
    load_and_warm_up = ModelCache._load_and_warm_up

    def counted(self, record):
        nonlocal loading, most_at_once
        with counting:
            loading += 1
            most_at_once = max(most_at_once, loading)
        try:
            return load_and_warm_up(self, record)
        finally:
            with counting:
                loading -= 1

    monkeypatch.setattr(ModelCache, "_load_and_warm_up", counted)
    with TestClient(create_app(settings)) as client:
        answers: list[int] = []
        threads = [
            threading.Thread(target=lambda m=m: answers.append(_predict(client, m.id).status_code))
            for m in models
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert answers == [200, 200, 200]
    assert most_at_once == 1


def test_loading_a_model_never_makes_the_collector_walk_keras_objects_again(
    settings, make_model, monkeypatch
):
    # A full collection over everything Keras and TensorFlow hold paused every request for
    # 100-400 ms; they are frozen once, and a load must not unfreeze them.
    first, second = make_model(), make_model()
    unfrozen: list[int] = []
    monkeypatch.setattr(gc, "unfreeze", lambda: unfrozen.append(gc.get_freeze_count()))

    with TestClient(create_app(settings)) as client:
        assert _predict(client, first.id).status_code == 200
        frozen = gc.get_freeze_count()
        assert _predict(client, second.id).status_code == 200

    assert frozen > 0
    assert unfrozen == []


def test_a_loaded_model_is_frozen_out_of_collections_and_collected_once_forgotten(settings):
    # Full collections over TensorFlow's millions of objects paused requests for 100-300 ms,
    # so what a load leaves is frozen; a forgotten model must not stay frozen in memory.
    record = save_untrained_model(settings, ["cat", "ship"])
    cache = ModelCache(ModelRegistry(create_session_factory(settings)), settings)

    async def scenario() -> tuple[weakref.ref, int]:
        model = weakref.ref((await cache.load(record)).model)
        frozen = gc.get_freeze_count()
        await cache.forget(record.id)
        await cache.close()
        return model, frozen

    model, frozen_while_loaded = asyncio.run(scenario())

    assert frozen_while_loaded > 0
    assert model() is None


def test_a_loaded_model_runs_as_many_batches_at_once_as_the_settings_say(settings):
    settings = settings.model_copy(update={"prediction": PredictionTuning(batches_in_flight=3)})
    record = save_untrained_model(settings, ["cat", "ship"])
    cache = ModelCache(ModelRegistry(create_session_factory(settings)), settings)

    async def scenario() -> int:
        batcher = (await cache.load(record)).batcher
        await cache.close()
        return batcher.batches_in_flight

    assert asyncio.run(scenario()) == 3


def test_readiness_and_predictions_say_why_the_production_model_failed_to_load(
    settings, make_model
):
    settings.intervals.model_poll_seconds = 0.05
    model = make_model()
    Path(model.path).write_bytes(b"not a Keras model")
    server_folder = str(settings.data_dir.resolve())

    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 60
        while (readiness := client.get("/readyz").json())["detail"].startswith("Loading"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        prediction = _predict(client)

    assert readiness["ready"] is False
    assert readiness["detail"].startswith("The production model failed to load.")
    assert f"Model {model.id!r} could not be loaded: its file is damaged" in readiness["detail"]
    assert prediction.status_code == 503
    assert model.id in prediction.json()["detail"]
    for detail in (readiness["detail"], prediction.json()["detail"]):
        assert server_folder not in detail
        assert "File not found" not in detail


def test_a_missing_model_file_is_named_as_missing(client, make_model):
    model = make_model()
    Path(model.path).unlink()

    response = _predict(client, model.id)

    assert response.status_code == 503
    assert response.json()["detail"].startswith(
        f"Model {model.id!r} could not be loaded: its file is missing."
    )


def test_a_jobs_error_shows_no_server_paths(client, job_store, settings):
    job = client.post("/train", json={"epochs": 1}).json()
    data_dir = settings.data_dir.resolve()
    error = FileNotFoundError(
        f"[Errno 2] No such file or directory: '{data_dir}/datasets/abc/arrays.npz' "
        "(from /usr/lib/python3/dist-packages/numpy/lib/npyio.py)"
    )
    job_store.finish_job(job["id"], JobStatus.FAILED, error=error)

    shown = client.get(f"/jobs/{job['id']}").json()["error"]

    assert shown == {
        "type": "FileNotFoundError",
        "message": "[Errno 2] No such file or directory: 'DATA_DIR/datasets/abc/arrays.npz' "
        "(from npyio.py)",
    }


def test_a_new_production_version_serves_only_once_loaded_and_requests_keep_theirs(
    settings, monkeypatch
):
    first = save_untrained_model(settings, ["cat", "ship"])
    second = save_untrained_model(settings, ["cat", "ship"])  # not production: first is
    registry = ModelRegistry(create_session_factory(settings))
    cache = ModelCache(registry, settings)
    release = threading.Event()
    load_and_warm_up = ModelCache._load_and_warm_up

    def held_back(self, record):
        if record.id == second.id:
            assert release.wait(30)
        return load_and_warm_up(self, record)

    monkeypatch.setattr(ModelCache, "_load_and_warm_up", held_back)
    pixels = np.zeros((1, 32, 32, 3), np.uint8)

    async def scenario() -> tuple[str, str, str, tuple[int, ...]]:
        await cache.load_default()
        in_flight = await cache.get(None)  # as a request holds it
        registry.set_alias("sample", PRODUCTION, second.version, "better")
        poll = asyncio.create_task(cache.load_default())
        await asyncio.sleep(0.2)
        loading = (await cache.get(None)).record.id
        release.set()
        await poll
        after = (await cache.get(None)).record.id
        answer = await in_flight.batcher.submit(pixels)  # the request started before
        await cache.close()
        return in_flight.record.id, loading, after, answer.shape

    held, while_loading, after, shape = asyncio.run(scenario())

    assert held == first.id
    assert while_loading == first.id  # not the version still loading
    assert after == second.id
    assert shape == (1, 2)
