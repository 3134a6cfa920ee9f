"""DELETE /datasets/{id}: an upload's record and folder go; jobs that ended and models trained on
it stay; refused while a job or a worker still needs it, and for the built-in dataset."""

import pytest

from core.datasets.store import DatasetStore
from core.db import create_session_factory
from core.status import JobStatus
from core.tables import Dataset
from devkit.datasets import upload_dataset, upload_prepared_dataset, upload_ready_dataset
from devkit.samples import cifar_samples

CLASSES = ["cat", "ship"]


@pytest.fixture
def ready(client, settings, make_archive) -> dict:
    """An uploaded dataset, ready."""
    archive = make_archive(CLASSES, train_per_class=5, test_per_class=1)
    return upload_ready_dataset(client, settings, archive)


def test_delete_removes_the_record_and_the_folder_and_keeps_the_jobs_that_ended(
    client, settings, ready
):
    folder = settings.datasets_dir / ready["id"]
    assert (folder / "arrays" / "x_train.npy").is_file() and (folder / "source.tar.gz").is_file()
    job = client.post("/train", json={"dataset": ready["id"]}).json()
    client.post(f"/jobs/{job['id']}/cancel")

    response = client.delete(f"/datasets/{ready['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/datasets/{ready['id']}").status_code == 404
    assert ready["id"] not in [d["id"] for d in client.get("/datasets").json()["data"]]
    assert not folder.exists()
    kept = client.get(f"/jobs/{job['id']}").json()
    assert (kept["status"], kept["dataset"]) == ("cancelled", ready["id"])


def test_training_on_a_deleted_dataset_is_404_as_for_any_unknown_one(client, ready):
    client.delete(f"/datasets/{ready['id']}")

    response = client.post("/train", json={"dataset": ready["id"]})

    assert response.status_code == 404
    assert response.json() == {
        "detail": f"No dataset with id {ready['id']!r}.",
        "type": "not_found",
    }
    assert client.get("/jobs").json()["count"] == 0


def test_delete_an_unknown_dataset_is_404(client, ready):
    client.delete(f"/datasets/{ready['id']}")

    for dataset_id in ("nope", ready["id"]):
        response = client.delete(f"/datasets/{dataset_id}")

        assert response.status_code == 404
        assert response.json() == {
            "detail": f"No dataset with id {dataset_id!r}.",
            "type": "not_found",
        }


def test_a_failed_upload_can_be_deleted(client, settings, make_archive):
    failed = upload_prepared_dataset(client, settings, make_archive(["cat"], 3, 0))
    folder = settings.datasets_dir / failed["id"]
    assert failed["status"] == "failed" and folder.is_dir()

    response = client.delete(f"/datasets/{failed['id']}")

    assert response.status_code == 204
    assert client.get(f"/datasets/{failed['id']}").status_code == 404
    assert not folder.exists()


def test_delete_while_a_job_uses_the_dataset_is_409_naming_the_job(
    client, settings, ready, job_store
):
    queued = client.post("/train", json={"dataset": ready["id"]}).json()

    response = client.delete(f"/datasets/{ready['id']}")

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Dataset {ready['id']!r} is used by job {queued['id']!r} (queued); cancel it "
        "(POST /jobs/{id}/cancel) or let it finish, then delete the dataset.",
        "type": "conflict",
    }
    assert client.get(f"/datasets/{ready['id']}").json() == ready
    assert (settings.datasets_dir / ready["id"] / "arrays" / "x_train.npy").is_file()
    job_store.claim_next_job("worker-1", 60, 3)
    running = client.delete(f"/datasets/{ready['id']}")
    assert running.status_code == 409
    assert f"job {queued['id']!r} (running)" in running.json()["detail"]
    job_store.finish_job(queued["id"], JobStatus.FAILED, error=RuntimeError("boom"))
    assert client.delete(f"/datasets/{ready['id']}").status_code == 204


def test_delete_while_the_dataset_is_being_prepared_is_409(client, settings, make_archive):
    processing = upload_dataset(client, make_archive(CLASSES, 5, 1))

    response = client.delete(f"/datasets/{processing['id']}")

    assert response.status_code == 409
    assert response.json()["type"] == "conflict"
    detail = response.json()["detail"]
    assert f"Dataset {processing['id']!r} is still being prepared" in detail
    assert "wait until its status is ready or failed" in detail
    assert client.get(f"/datasets/{processing['id']}").json()["status"] == "processing"
    assert (settings.datasets_dir / processing["id"] / "source.tar.gz").is_file()


def test_the_builtin_dataset_cannot_be_deleted(client):
    response = client.delete("/datasets/cifar10")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Dataset 'cifar10' is built in: the service and its workers record it again "
        "each time they start, so it cannot be deleted.",
        "type": "conflict",
    }
    assert client.get("/datasets/cifar10").json()["status"] == "ready"


def test_the_row_goes_before_the_files(client, settings, ready, monkeypatch):
    """A crash between the two leaves files no dataset points at, never a dataset without its
    files."""
    folder = settings.datasets_dir / ready["id"]

    def crash(*args, **kwargs):
        raise RuntimeError("the server stopped here")

    monkeypatch.setattr("app.routes.datasets.shutil.rmtree", crash)
    with pytest.raises(RuntimeError, match="stopped here"):
        client.delete(f"/datasets/{ready['id']}")

    assert client.get(f"/datasets/{ready['id']}").status_code == 404
    assert (folder / "arrays" / "x_train.npy").is_file()


def test_files_outside_the_datasets_folder_are_never_removed(client, settings):
    """A dataset whose id leads out of DATA_DIR/datasets (no upload is named so; a record
    written by hand might be) loses its record only."""
    DatasetStore(create_session_factory(settings)).add_dataset(
        Dataset(id="..", name="odd", kind="image_folder", status="failed", attempts=0)
    )
    for folder in (settings.models_dir, settings.datasets_dir):
        folder.mkdir(parents=True)

    response = client.delete("/datasets/%2e%2e")  # encoded, so the client sends it as it is

    assert response.status_code == 204
    assert client.get("/datasets/%2e%2e").status_code == 404
    assert settings.models_dir.is_dir() and settings.datasets_dir.is_dir()


@pytest.mark.slow
def test_models_trained_on_a_deleted_dataset_keep_working(client, ready, make_model):
    model = make_model(CLASSES, name="from-upload", dataset_id=ready["id"])

    assert client.delete(f"/datasets/{ready['id']}").status_code == 204

    assert client.get(f"/models/{model.id}").json()["dataset_id"] == ready["id"]
    image = cifar_samples()["test"]["ship"][0]
    response = client.post(
        "/predict", params={"model": model.id}, files={"file": ("s.jpg", image, "image/jpeg")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["model_id"] == model.id
    assert {p["label"] for p in response.json()["predictions"]} == set(CLASSES)
