import threading
import time

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from devkit.samples import cifar_samples


@pytest.fixture
def fast_client(settings):
    settings.intervals.model_poll_seconds = 0.05
    settings.prediction.batch_window_ms = 100
    with TestClient(create_app(settings)) as client:
        yield client


def _metric(text: str, metric: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text exposition."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == (f"{metric}{{{wanted}}}" if labels else metric):
            return float(value)
    raise AssertionError(f"no sample {metric}{{{wanted}}} in:\n{text}")


def test_readiness_waits_for_the_production_model_to_be_loaded_in_the_background(
    fast_client, make_model
):
    unready = fast_client.get("/readyz")
    assert unready.status_code == 503
    assert unready.json() == {
        "ready": False,
        "model_id": None,
        "name": None,
        "version": None,
        "detail": "No trained model yet.",
    }

    model = make_model()  # as the worker does when a job succeeds
    deadline = time.monotonic() + 60
    while (ready := fast_client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, ready.json()
        time.sleep(0.05)

    assert ready.json() == {
        "ready": True,
        "model_id": model.id,
        "name": "sample",
        "version": 1,
        "detail": "sample version 1 is loaded and serves.",
    }
    metrics = fast_client.get("/metrics").text
    assert _metric(metrics, "model_load_seconds_count") == 1
    assert _metric(metrics, "serving_model", model_id=model.id, name="sample", version="1") == 1


def test_concurrent_requests_share_batches_and_get_their_own_answers(fast_client, make_model):
    make_model()
    images = [cifar_samples()["test"][name][0] for name in ("ship", "cat", "airplane", "frog")]
    expected = [
        fast_client.post("/predict", files={"file": ("x.jpg", image)}).json()["predictions"]
        for image in images
    ]
    batches_before = _metric(fast_client.get("/metrics").text, "predict_batch_size_count")
    answers: dict[int, dict] = {}

    def ask(i: int) -> None:
        image = images[i % len(images)]
        answers[i] = fast_client.post("/predict", files={"file": ("x.jpg", image)}).json()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for i, answer in answers.items():
        got = [(p["index"], round(p["probability"], 4)) for p in answer["predictions"]]
        assert got == [(p["index"], round(p["probability"], 4)) for p in expected[i % 4]]
    metrics = fast_client.get("/metrics").text
    batches = _metric(metrics, "predict_batch_size_count") - batches_before
    assert len(answers) == 16 and batches < 16  # requests shared batches


def test_metrics_count_requests_by_route_and_report_jobs(fast_client, job_store):
    job = fast_client.post("/train", json={"epochs": 2}).json()
    fast_client.get(f"/jobs/{job['id']}")
    fast_client.get("/jobs/nope")
    job_store.claim_next_job("w", 60, 3)
    job_store.record_progress(job["id"], {"epoch": 2, "images_per_second": 1234.5})

    response = fast_client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _metric(text, "http_requests_total", method="GET", route="/jobs/{job_id}", status="200")
    assert (
        _metric(text, "http_requests_total", method="GET", route="/jobs/{job_id}", status="404")
        == 1
    )
    assert _metric(text, "jobs", status="running") == 1
    assert _metric(text, "jobs", status="queued") == 0
    assert _metric(text, "running_job_epoch", job_id=job["id"]) == 2
    assert _metric(text, "running_job_images_per_second", job_id=job["id"]) == 1234.5
    assert job["id"] not in text.split("running_job")[0]  # ids are never route labels
