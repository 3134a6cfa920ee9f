"""POST /datasets answers at once (202) with a `processing` dataset, which a worker's preparation
(here called in this process, the code the worker runs) makes `ready` or `failed`; its progress
shows on the way, and jobs are refused until it is ready."""

import threading
import time

from fastapi.testclient import TestClient

from app.main import create_app
from devkit.datasets import (
    prepare_uploaded_dataset,
    upload_dataset,
    upload_prepared_dataset,
    upload_ready_dataset,
)

CLASSES = ["airplane", "cat", "ship"]


def test_an_upload_is_answered_at_once_and_followed_at_its_location(client, settings, make_archive):
    archive = make_archive(CLASSES, train_per_class=10, test_per_class=3)

    response = client.post("/datasets", files={"file": ("mine.zip", archive.read_bytes())})

    assert response.status_code == 202, response.text
    dataset = response.json()
    assert response.headers["Location"] == f"/datasets/{dataset['id']}"
    assert dataset["status"] == "processing" and dataset["name"] == "mine.zip"
    assert dataset["progress"] == {"done": 0, "total": None}
    assert dataset["class_names"] is None and dataset["image_shape"] is None
    assert dataset["train_count"] is None and dataset["test_split"] is None
    assert (dataset["error"], dataset["problems"]) == (None, [])
    assert client.get(response.headers["Location"]).json() == dataset
    listed = {d["id"]: d for d in client.get("/datasets").json()["data"]}
    assert listed[dataset["id"]] == dataset and listed["cifar10"]["status"] == "ready"
    kept = settings.datasets_dir / dataset["id"]
    assert [path.name for path in kept.iterdir()] == ["source.zip"]


def test_the_location_is_under_the_public_url(settings, make_archive):
    public = settings.model_copy(update={"public_url": "https://ml.example.com"})
    archive = make_archive(["cat", "ship"], train_per_class=5, test_per_class=1)

    with TestClient(create_app(public)) as client:
        dataset = client.post("/datasets", files={"file": ("a.tar.gz", archive.read_bytes())})

    location = f"https://ml.example.com/datasets/{dataset.json()['id']}"
    assert dataset.headers["Location"] == location


def test_progress_goes_from_nothing_to_every_image_decoded(client, settings, make_archive):
    archive = make_archive(CLASSES, train_per_class=1000, test_per_class=0)
    dataset_id = upload_dataset(client, archive, image_size="96")["id"]
    seen = [client.get(f"/datasets/{dataset_id}").json()]
    preparing = threading.Thread(target=prepare_uploaded_dataset, args=(settings, dataset_id))

    preparing.start()
    deadline = time.monotonic() + 120
    while seen[-1]["status"] == "processing" and time.monotonic() < deadline:
        answer = client.get(f"/datasets/{dataset_id}").json()
        if (answer["status"], answer["progress"]) != (seen[-1]["status"], seen[-1]["progress"]):
            seen.append(answer)
        time.sleep(0.05)
    preparing.join()

    progress = [answer["progress"] for answer in seen]
    assert progress[0] == {"done": 0, "total": None}
    assert progress[-1] == {"done": 3000, "total": 3000} and seen[-1]["status"] == "ready"
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    assert {p["total"] for p in progress[1:]} == {3000}
    assert all(answer["status"] == "processing" for answer in seen[:-1])


def test_training_waits_for_a_dataset_still_being_prepared(client, make_archive):
    archive = make_archive(["cat", "ship"], train_per_class=5, test_per_class=1)
    dataset_id = upload_dataset(client, archive)["id"]

    response = client.post("/train", json={"dataset": dataset_id})

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert f"Dataset {dataset_id!r} is still being prepared" in detail
    assert "once its status is ready" in detail
    assert client.get("/jobs").json()["count"] == 0


def test_training_on_a_dataset_that_failed_is_refused_saying_why(client, settings, make_archive):
    archive = make_archive(["cat"], train_per_class=3, test_per_class=0)
    failed = upload_prepared_dataset(client, settings, archive)

    response = client.post("/train", json={"dataset": failed["id"]})

    assert failed["status"] == "failed"
    assert failed["problems"] == ["Only one class (cat): at least 2 are needed."]
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "failed to be prepared" in detail and "The dataset archive is not usable." in detail
    assert "Only one class (cat)" in detail
    assert client.get("/jobs").json()["count"] == 0


def test_a_ready_dataset_trains(client, settings, make_archive):
    archive = make_archive(["cat", "ship"], train_per_class=5, test_per_class=1)
    ready = upload_ready_dataset(client, settings, archive)

    response = client.post("/train", json={"dataset": ready["id"]})

    assert ready["status"] == "ready" and ready["progress"] == {"done": 12, "total": 12}
    assert response.status_code == 202 and response.json()["dataset"] == ready["id"]
