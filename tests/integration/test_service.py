"""The whole service as a user runs it: a real HTTP server, a real worker process, real images."""

import os
import signal
import time

import pytest

from devkit.datasets import upload_dataset, wait_until_prepared
from devkit.samples import cifar_samples
from tests.integration.running import wait_for_job, worker_pids
from tests.tensorboard_events import logged_steps

pytestmark = pytest.mark.slow

CLASSES = ["airplane", "automobile", "cat", "ship"]


def test_upload_train_follow_and_predict(service, make_archive):
    archive = make_archive(CLASSES, train_per_class=60, test_per_class=20)
    with service.client() as client:
        upload = client.post(
            "/datasets", files={"file": ("sample.tar.gz", archive.read_bytes(), "application/gzip")}
        )
        assert upload.status_code == 202, upload.text
        assert upload.json()["status"] == "processing"
        dataset = wait_until_prepared(client, upload.json()["id"])
        assert dataset["status"] == "ready", dataset
        assert dataset["class_names"] == CLASSES
        assert dataset["progress"] == {"done": 320, "total": 320}

        started = client.post(
            "/train",
            json={"dataset": dataset["id"], "epochs": 2, "batch_size": 32, "seed": 1, "name": "it"},
        )
        assert started.status_code == 202, started.text
        job, seen = wait_for_job(client, started.json()["id"])

        assert job["status"] == "succeeded", job["error"]
        assert "running" in [state["status"] for state in seen]
        assert any(s["progress"] and s["progress"]["fraction"] < 1 for s in seen[:-1])
        assert job["replicas"] == 2 and len(job["devices"]) == 2
        assert [epoch["epoch"] for epoch in job["history"]] == [1, 2]
        assert all(epoch["val_accuracy"] is not None for epoch in job["history"])
        assert job["progress"]["fraction"] == 1.0
        assert 0 <= job["test_accuracy"] <= 1
        # TensorBoard logs of each epoch stay in the job's folder (`tensorboard --logdir`).
        tensorboard = service.data_dir / "jobs" / job["id"] / "tensorboard"
        for split in ("train", "validation"):
            assert logged_steps(tensorboard / split)["epoch_accuracy"] == [0, 1]

        model = client.get(f"/models/{job['model_id']}").json()
        assert model["class_names"] == CLASSES and model["input_shape"] == [32, 32, 3]
        assert model["dataset_id"] == dataset["id"] and model["job_id"] == job["id"]
        assert model["params"]["epochs"] == 2 and model["metrics"]["replicas"] == 2
        # The confusion matrix comes from the predictions the test accuracy was scored on.
        confusion = model["metrics"]["confusion_matrix"]
        test_counts = [dataset["class_counts"]["test"][name] for name in CLASSES]
        assert [sum(row) for row in confusion] == test_counts  # rows: true classes, in order
        assert sum(test_counts) == dataset["test_count"] == 80
        right = [confusion[i][i] for i in range(len(CLASSES))]
        assert sum(right) / dataset["test_count"] == pytest.approx(job["test_accuracy"])
        assert model["metrics"]["per_class_accuracy"] == pytest.approx(
            {name: right[i] / test_counts[i] for i, name in enumerate(CLASSES)}
        )
        for picture in (f"/jobs/{job['id']}/curves.png", f"/models/{model['id']}/confusion.png"):
            response = client.get(picture)
            assert response.status_code == 200, response.text
            assert response.content.startswith(b"\x89PNG\r\n\x1a\n")

        image = cifar_samples()["test"]["ship"][5]
        predicted = client.post("/predict", files={"file": ("ship.jpg", image, "image/jpeg")})
        assert predicted.status_code == 200, predicted.text
        body = predicted.json()
        assert body["model_id"] == model["id"]
        assert {p["label"] for p in body["predictions"]} == set(CLASSES)
        assert sum(p["probability"] for p in body["predictions"]) == pytest.approx(1, abs=1e-5)


def test_failed_job_reports_its_error_and_the_worker_goes_on(service, make_archive):
    archive = make_archive(["cat", "ship"], train_per_class=10, test_per_class=2)
    with service.client() as client:
        dataset_id = upload_dataset(client, archive)["id"]
        wait_until_prepared(client, dataset_id)
        arrays = service.data_dir / "datasets" / dataset_id / "arrays"
        arrays.rename(arrays.with_suffix(".moved"))  # the job will not find its data
        failing = client.post("/train", json={"dataset": dataset_id, "epochs": 1}).json()
        failed, _ = wait_for_job(client, failing["id"])
        arrays.with_suffix(".moved").rename(arrays)
        second = client.post("/train", json={"dataset": dataset_id, "epochs": 1}).json()
        succeeded, _ = wait_for_job(client, second["id"])

    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "FileNotFoundError"
    assert "arrays/x_train.npy" in failed["error"]["message"]
    assert succeeded["status"] == "succeeded"


def test_supervisor_restarts_a_killed_worker(service):
    (first,) = worker_pids(service.process.pid)
    os.kill(first, signal.SIGKILL)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = worker_pids(service.process.pid)
        if pids and pids != [first]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no new worker process within 30 s")
    with service.client() as client:
        assert client.get("/healthz").json()["worker"] == "running"


def test_streamed_upload_over_the_limit_is_refused_and_serving_goes_on(service):
    def chunks():  # a well-formed multipart body, sent without a Content-Length
        yield (
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        for _ in range(20):
            yield b"\xff" * (1024 * 1024)
        yield b"\r\n--x--\r\n"

    with service.client() as client:
        response = client.post(
            "/predict",
            content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert response.status_code == 413
        assert response.json()["type"] == "payload_too_large"
        assert client.get("/healthz").status_code == 200
