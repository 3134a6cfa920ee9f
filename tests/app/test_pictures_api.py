"""GET /jobs/{id}/curves.png and GET /models/{id}/confusion.png: real PNGs, or clear errors."""

import io

import pytest
from PIL import Image

from core.status import JobStatus

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]  # fmt: skip


def decode_png(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == "PNG"
    return image


def colours(image: Image.Image) -> int:
    counts = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert counts is not None  # None only past maxcolors, which covers every RGB colour
    return len(counts)


def record_epochs(job_store, job_id: str, count: int, epochs: int) -> None:
    for epoch in range(1, count + 1):
        metrics = {"epoch": epoch, "loss": 2 / epoch, "accuracy": epoch / 5,
                   "val_loss": 2.2 / epoch, "val_accuracy": epoch / 6, "seconds": 1.0}  # fmt: skip
        progress = {"epoch": epoch, "epochs": epochs, "step": 10, "steps": 10,
                    "fraction": epoch / epochs}  # fmt: skip
        job_store.record_epoch(job_id, metrics, progress)


def test_curves_of_a_running_job_are_drawn_from_its_epochs_so_far(client, make_job, job_store):
    job = make_job(epochs=5)
    assert job_store.claim_next_job("test-worker", heartbeat_timeout=60, max_attempts=3)
    record_epochs(job_store, job.id, 2, epochs=5)

    image = decode_png(client.get(f"/jobs/{job.id}/curves.png"))

    assert image.size == (1100, 420)  # two panels side by side: 11 x 4.2 inches at 100 dpi
    assert colours(image) > 50  # lines, text and antialiasing, not a blank canvas
    assert client.get(f"/jobs/{job.id}").json()["status"] == JobStatus.RUNNING


def test_curves_of_a_job_without_a_finished_epoch_are_a_409(client, make_job):
    job = make_job(epochs=3)

    response = client.get(f"/jobs/{job.id}/curves.png")

    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "conflict"
    assert body["detail"] == (
        f"Job {job.id!r} has no finished epoch yet: its curves start after the first one."
    )


def test_curves_of_an_unknown_job_are_a_404(client):
    response = client.get("/jobs/no-such-job/curves.png")

    assert response.status_code == 404
    assert response.json() == {"detail": "No job with id 'no-such-job'.", "type": "not_found"}


def test_confusion_matrix_of_ten_classes_is_drawn(client, make_model):
    confusion = [[90 if true == predicted else 1 for predicted in range(10)] for true in range(10)]
    model = make_model(CIFAR_CLASSES, {"confusion_matrix": confusion})

    image = decode_png(client.get(f"/models/{model.id}/confusion.png"))

    assert image.size == (1050, 900)  # 9 inches square for 10 classes, plus the colour bar
    assert colours(image) > 50


def test_confusion_of_a_model_saved_without_a_matrix_is_a_409(client, make_model):
    model = make_model()  # metadata as models had before they recorded a matrix

    response = client.get(f"/models/{model.id}/confusion.png")

    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "conflict"
    assert "has no confusion matrix" in body["detail"] and model.id in body["detail"]


def test_confusion_of_an_unknown_model_is_a_404(client):
    response = client.get("/models/nope/confusion.png")

    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


@pytest.mark.parametrize("path", ["/jobs/{id}/curves.png", "/models/{id}/confusion.png"])
def test_pictures_are_documented_as_png(client, path):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"][
        path.replace("{id}", "{job_id}" if "jobs" in path else "{model_id}")
    ]

    assert set(operation["get"]["responses"]["200"]["content"]) == {"image/png"}
