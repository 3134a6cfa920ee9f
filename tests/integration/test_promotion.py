"""Which model answers, with a real server and worker: a finished job takes `production` only
when it beats the version there on the same test split, and never when it is at chance."""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.datasets import upload_dataset, wait_until_prepared
from devkit.samples import write_image_folder_archive
from tests.integration.running import RunningService, start_service, stop_service, wait_for_job

pytestmark = pytest.mark.slow

ADMIN_KEY = "admin-key-for-promotion-tests"
PREDICT_KEY = "predict-key-for-promotion-tests"
CLASSES = ["left", "right", "blue", "green"]
# A model trained on random mirror images and scored on the mean of an image's and its mirror's
# logits answers the same class for an image and its mirror, so it tells `left` from `right`
# (mirrors of each other, pixel for pixel) at most half the time: its test accuracy is at most
# 75%, whatever training does, where one that sees images as they are can reach 100%.
MIRROR_BLIND = {"epochs": 3, "batch_size": 32, "seed": 1, "flip": True, "tta": True}
SIGHTED = {"epochs": 3, "batch_size": 32, "seed": 1, "flip": False, "tta": False}


@pytest.fixture
def keyed_service(tmp_path: Path):
    running = start_service(
        tmp_path / "var",
        tmp_path / "service.log",
        API_KEYS=f"{ADMIN_KEY}:admin,{PREDICT_KEY}:predict",
        INTERVALS__MODEL_POLL_SECONDS="0.5",
    )
    try:
        yield running
    finally:
        stop_service(running)


def pictures_archive(path: Path, blank: bool = False) -> Path:
    """PNGs of the four classes (lossless, so mirrors stay exact); `blank`: every image the
    same grey, so any model answers one class for all of them and scores exactly chance."""
    rng = np.random.default_rng(0)
    entries = {}
    for split, count in (("train", 40), ("test", 10)):
        for i in range(count):
            pictures = class_pictures(rng)
            for name in CLASSES:
                picture = np.full((32, 32, 3), 128, np.uint8) if blank else pictures[name]
                entries[f"{split}/{name}/{i}.png"] = png(picture)
    return write_image_folder_archive(path, [], 0, extra=entries)


def class_pictures(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One noisy picture of each class; `right` is the mirror image of `left`."""
    noise = rng.integers(-25, 26, (32, 32, 3))
    left = np.full((32, 32, 3), 30)
    left[:, :16] = 220
    pictures = {
        "left": left + noise,
        "blue": np.full((32, 32, 3), (30, 40, 200)) + noise,
        "green": np.full((32, 32, 3), (30, 180, 40)) + noise,
    }
    pictures = {name: np.clip(p, 0, 255).astype(np.uint8) for name, p in pictures.items()}
    return {**pictures, "right": pictures["left"][:, ::-1]}


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def blue_file() -> dict:
    picture = class_pictures(np.random.default_rng(1))["blue"]
    return {"file": ("blue.png", png(picture), "image/png")}


def upload(client, archive: Path) -> str:
    dataset = wait_until_prepared(client, upload_dataset(client, archive)["id"])
    assert dataset["status"] == "ready", dataset
    return dataset["id"]


def train(client, **body) -> dict:
    started = client.post("/train", json=body)
    assert started.status_code == 202, started.text
    job, _ = wait_for_job(client, started.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    return job


def production_of(client, name: str) -> int | None:
    return client.get(f"/model-names/{name}").json()["aliases"].get("production")


def predict(client, model: str | None = None) -> dict:
    response = client.post("/predict", files=blue_file(), data={"model": model} if model else {})
    assert response.status_code == 200, response.text
    return response.json()


def answers_by_default(client, model_id: str, timeout: float = 60) -> None:
    """Wait for requests naming no model to be answered by `model_id`: the service loads a new
    production version within a poll interval, and switches once it is loaded."""
    deadline = time.monotonic() + timeout
    while (answered := predict(client)["model_id"]) != model_id:
        assert time.monotonic() < deadline, f"still answered by {answered}"
        time.sleep(0.2)


def test_production_moves_only_to_a_better_version_and_never_to_one_at_chance(
    keyed_service: RunningService, tmp_path: Path
):
    with keyed_service.client() as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        colours = upload(client, pictures_archive(tmp_path / "pictures.tar.gz"))

        first = train(client, dataset=colours, model_name="colours", **MIRROR_BLIND)
        chance = 1 / len(CLASSES)
        assert chance + 0.02 <= first["test_accuracy"] <= 0.75
        assert first["promotion"]["promoted"] and first["warning"] is None
        assert production_of(client, "colours") == 1
        answers_by_default(client, first["model_id"])  # the default name's production

        better = train(client, dataset=colours, model_name="colours", **SIGHTED)
        assert better["test_accuracy"] > first["test_accuracy"]
        assert better["promotion"]["promoted"], better["promotion"]
        assert better["promotion"]["incumbent"]["version"] == 1
        assert better["promotion"]["incumbent"]["test_accuracy"] == first["test_accuracy"]
        assert better["promotion"]["candidate"]["test_accuracy"] == better["test_accuracy"]
        assert production_of(client, "colours") == 2
        answers_by_default(client, better["model_id"])

        # Blind to mirrors again: worse than production, so production stays.
        worse = train(client, dataset=colours, model_name="colours", **MIRROR_BLIND)
        assert worse["test_accuracy"] < better["test_accuracy"]
        assert not worse["promotion"]["promoted"]
        assert "does not beat production" in worse["promotion"]["reason"]
        assert production_of(client, "colours") == 2
        assert predict(client)["model_id"] == better["model_id"]
        logged = client.get(f"/jobs/{worse['id']}/logs").json()["data"]
        assert any("not promoted" in record["message"] for record in logged)

        # At chance, a job never takes production, even asking `always` for a name with none.
        blank = upload(client, pictures_archive(tmp_path / "blank.tar.gz", blank=True))
        at_chance = train(client, dataset=blank, model_name="blank", promotion="always", **SIGHTED)
        assert at_chance["test_accuracy"] == pytest.approx(chance)
        assert not at_chance["promotion"]["promoted"]
        assert "chance" in at_chance["promotion"]["reason"] and "chance" in at_chance["warning"]
        assert (
            client.get(f"/models/{at_chance['model_id']}").json()["warning"] == at_chance["warning"]
        )
        assert production_of(client, "blank") is None
        assert (
            client.post("/predict", data={"model": "blank"}, files=blue_file()).status_code == 409
        )
        assert predict(client)["model_id"] == better["model_id"]

        # Each way of naming a model answers with the version it names.
        by_reference = {
            reference: predict(client, reference)["model_id"]
            for reference in (worse["model_id"], "colours", "colours@production", "colours@1")
        }
        assert by_reference == {
            worse["model_id"]: worse["model_id"],
            "colours": better["model_id"],
            "colours@production": better["model_id"],
            "colours@1": first["model_id"],
        }
        assert predict(client, "colours@2")["predictions"][0]["label"] == "blue"
        for unknown in ("nobody", "colours@staging", "colours@9", "0" * 32):
            response = client.post("/predict", data={"model": unknown}, files=blue_file())
            assert response.status_code == 404, (unknown, response.text)

        # Rollback: production goes back to where it was before its last move.
        moved = client.post("/model-names/colours/rollback", json={"alias": "production"})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["old_version"], moved.json()["new_version"]) == (2, 1)
        assert production_of(client, "colours") == 1
        history = client.get("/model-names/colours/alias-moves").json()["data"]
        assert [(m["old_version"], m["new_version"]) for m in history] == [
            (2, 1),
            (1, 2),
            (None, 1),
        ]

        # A predict key may predict, but not move an alias.
        client.headers["Authorization"] = f"Bearer {PREDICT_KEY}"
        refused = client.put("/model-names/colours/aliases/production", json={"version": 2})
        assert refused.status_code == 403, refused.text
        assert production_of(client, "colours") == 1
