import pytest

from devkit.datasets import prepare_uploaded_dataset, upload_ready_dataset

pytestmark = pytest.mark.slow


def test_models_list_and_detail(client, make_model):
    first, second = make_model(), make_model(["x", "y"])

    listing = client.get("/models").json()
    detail = client.get(f"/models/{first.id}").json()

    assert listing["count"] == 2
    assert [m["id"] for m in listing["data"]] == [second.id, first.id]
    assert detail["class_names"] == ["airplane", "cat", "ship"]
    assert detail["input_shape"] == [32, 32, 3]
    assert detail["architecture"] == "seed_cnn" and detail["job_id"] == "job-for-test"
    assert detail["metrics"]["test_accuracy"] == 0.5
    assert (detail["name"], detail["version"], detail["aliases"]) == ("sample", 1, ["production"])
    assert detail["warning"] is None
    assert listing["data"][0]["aliases"] == [] and listing["data"][0]["version"] == 2
    assert "scaling" in detail["preprocessing"]
    assert client.get("/models/nope").status_code == 404


def test_delete_model_removes_record_and_files_and_predictions_stop_using_it(
    client, make_model, settings
):
    model = make_model()
    folder = settings.models_dir / model.id
    assert folder.is_dir()

    refused = client.delete(f"/models/{model.id}")
    assert client.delete("/model-names/sample/aliases/production").status_code == 204
    response = client.delete(f"/models/{model.id}")

    assert refused.status_code == 409
    assert "sample@production" in refused.json()["detail"]
    assert response.status_code == 204
    assert client.get(f"/models/{model.id}").status_code == 404
    assert not folder.exists()
    predict = client.post("/predict", files={"file": ("x.png", b"not used", "image/png")})
    assert predict.status_code == 409  # no production version left
    assert client.delete(f"/models/{model.id}").status_code == 404


def test_builtin_cifar10_is_listed(client):
    cifar = client.get("/datasets/cifar10").json()

    assert cifar["kind"] == "builtin" and cifar["train_count"] == 50_000
    assert cifar["class_names"][0] == "airplane" and cifar["image_shape"] == [32, 32, 3]


def test_dataset_upload_is_validated_decoded_and_kept(client, settings, make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=10, test_per_class=3)

    response = client.post(
        "/datasets",
        files={"file": ("mine.tar.gz", archive.read_bytes(), "application/gzip")},
        data={"name": "my sample"},
    )
    prepared = prepare_uploaded_dataset(settings, response.json()["id"])

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "processing"
    assert prepared.status == "ready"
    dataset = client.get(f"/datasets/{prepared.id}").json()
    assert dataset["name"] == "my sample" and dataset["kind"] == "image_folder"
    assert dataset["class_names"] == ["airplane", "cat", "ship"]
    assert (dataset["train_count"], dataset["test_count"]) == (30, 9)
    assert dataset["class_counts"]["train"]["cat"] == 10
    assert dataset["test_split"] == "archive"
    assert dataset["id"] in [d["id"] for d in client.get("/datasets").json()["data"]]
    kept = settings.datasets_dir / dataset["id"]
    assert (kept / "source.tar.gz").read_bytes() == archive.read_bytes()
    assert (kept / "arrays" / "x_train.npy").exists()
    assert client.post("/train", json={"dataset": dataset["id"]}).status_code == 202


def test_dataset_image_size_option(client, settings, make_archive):
    archive = make_archive(["cat", "ship"], train_per_class=5, test_per_class=1)

    dataset = upload_ready_dataset(client, settings, archive, image_size="24x16")
    bad = client.post(
        "/datasets", files={"file": ("a.tar.gz", archive.read_bytes())}, data={"image_size": "0"}
    )

    assert dataset["image_shape"] == [24, 16, 3]
    assert bad.status_code == 422 and "image_size" in bad.json()["detail"]


def test_unusable_archive_lists_every_problem_and_decodes_nothing(client, settings, make_archive):
    archive = make_archive(["cat"], train_per_class=3, extra={"train/cat/bad.jpg": b"\xff\xd8xx"})

    response = client.post("/datasets", files={"file": ("bad.tar.gz", archive.read_bytes())})
    prepare_uploaded_dataset(settings, response.json()["id"])

    assert response.status_code == 202
    body = client.get(f"/datasets/{response.json()['id']}").json()
    assert body["status"] == "failed"
    assert body["error"] == "The dataset archive is not usable."
    assert any("train/cat/bad.jpg" in e for e in body["problems"])
    assert any("at least 2 are needed" in e for e in body["problems"])
    assert body["class_names"] is None and body["train_count"] is None
    # Only the archive, as it was given, is kept.
    assert [p.name for p in (settings.datasets_dir / body["id"]).iterdir()] == ["source.tar.gz"]


def test_non_archive_upload_is_415(client, settings):
    response = client.post("/datasets", files={"file": ("x.tar.gz", b"not an archive")})

    assert response.status_code == 415
    assert client.get("/datasets").json()["count"] == 1  # only the built-in one
    assert not settings.datasets_dir.exists() or list(settings.datasets_dir.iterdir()) == []
