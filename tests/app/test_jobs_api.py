import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.settings import Settings
from core.status import JobStatus
from devkit.datasets import upload_ready_dataset
from models.recipe import Recipe


def test_train_queues_a_job_with_recipe_defaults(client):
    response = client.post("/train", json={"epochs": 3})

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued"
    assert job["dataset"] == "cifar10" and job["model"] == "seed_cnn"
    assert job["params"]["epochs"] == 3 and job["params"]["batch_size"] == 32
    assert isinstance(job["params"]["seed"], int)
    assert job["url"].endswith(f"/jobs/{job['id']}")
    assert response.headers["location"] == job["url"]
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "queued"


def test_train_takes_the_model_name_and_promotion_policy(client):
    response = client.post(
        "/train", json={"model_name": "small", "promotion": "never", "promotion_margin": 0.02}
    )

    assert response.status_code == 202
    params = response.json()["params"]
    assert (params["model_name"], params["promotion"], params["promotion_margin"]) == (
        "small",
        "never",
        0.02,
    )
    assert client.post("/train", json={}).json()["params"]["model_name"] == "cifar10"
    assert client.post("/train", json={"promotion": "sometimes"}).status_code == 422


def test_a_finished_job_shows_its_promotion_and_warning(client, job_store):
    job = client.post("/train", json={"epochs": 1}).json()
    assert (job["promotion"], job["warning"]) == (None, None)
    record = {"promoted": False, "reason": "at chance", "candidate": {}, "incumbent": None}
    job_store.finish_job(
        job["id"],
        JobStatus.SUCCEEDED,
        model_id="m",
        test_accuracy=0.1,
        test_loss=2.3,
        promotion=record,
        warning="close to chance",
    )

    shown = client.get(f"/jobs/{job['id']}").json()

    assert (shown["promotion"], shown["warning"]) == (record, "close to chance")


def test_bad_values_answer_422_naming_the_field_and_range(client):
    response = client.post("/train", json={"epochs": 0, "batch_size": 10**9})

    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "validation_error"
    fields = {error["field"]: error for error in body["errors"]}
    assert "greater than or equal to 1" in fields["epochs"]["message"]
    assert fields["epochs"]["received"] == 0
    assert "less than or equal to 65536" in fields["batch_size"]["message"]
    assert "epochs" in body["detail"] and "batch_size" in body["detail"]


def test_unknown_model_architecture_lists_the_known_ones(client):
    response = client.post("/train", json={"model": "vgg99"})

    assert response.status_code == 422
    assert "Expected one of: seed_cnn" in response.json()["errors"][0]["message"]


def test_malformed_json_is_a_clear_422(client):
    response = client.post(
        "/train", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["type"] == "validation_error"


def test_unknown_dataset_is_404_and_queues_nothing(client):
    response = client.post("/train", json={"dataset": "nope"})

    assert response.status_code == 404
    assert response.json() == {"detail": "No dataset with id 'nope'.", "type": "not_found"}
    assert client.get("/jobs").json()["count"] == 0


def test_images_too_small_for_the_network_are_422_and_queue_nothing(client, settings, make_archive):
    archive = make_archive(["airplane", "cat"], train_per_class=4, test_per_class=2)
    dataset = upload_ready_dataset(client, settings, archive, image_size="16x16")["id"]

    response = client.post("/train", json={"dataset": dataset, "model": "seed_cnn"})

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Images of 16x16 pixels are too small for this network: it needs at least 18x18.",
        "type": "validation_error",
    }
    assert client.get("/jobs").json()["count"] == 0
    # quick_cnn, which takes 16 pixels, is queued.
    assert client.post("/train", json={"dataset": dataset, "model": "quick_cnn"}).status_code == 202


def test_unknown_job_is_404(client):
    response = client.get("/jobs/does-not-exist")

    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


def test_jobs_list_newest_first_paginated_and_filtered(client, settings, sessions):
    from core.job_store import JobStore

    ids = [client.post("/train", json={}).json()["id"] for _ in range(3)]
    JobStore(sessions).finish_job(ids[0], JobStatus.FAILED, error=ValueError("boom"))

    page = client.get("/jobs", params={"limit": 2}).json()
    assert page["count"] == 3 and [j["id"] for j in page["data"]] == [ids[2], ids[1]]
    assert [j["id"] for j in client.get("/jobs", params={"offset": 2}).json()["data"]] == [ids[0]]
    failed = client.get("/jobs", params={"status": "failed"}).json()
    assert failed["count"] == 1
    assert failed["data"][0]["error"] == {"type": "ValueError", "message": "boom"}
    assert client.get("/jobs", params={"status": "bogus"}).status_code == 422


def test_health_reports_database_and_worker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "worker": "external"}


def test_openapi_documents_every_route(client):
    paths = client.get("/openapi.json").json()["paths"]

    for path in [
        "/train",
        "/jobs",
        "/jobs/{job_id}",
        "/predict",
        "/models",
        "/models/{model_id}",
        "/datasets",
        "/datasets/{dataset_id}",
        "/healthz",
    ]:
        assert path in paths


def test_openapi_offers_each_recipe_option_as_the_recipe_declares_it(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    request, params = schemas["TrainRequest"]["properties"], schemas["TrainParams"]["properties"]
    declared = Recipe.model_json_schema()["properties"]

    for name, option in declared.items():
        type_and_bounds = {k: v for k, v in option.items() if k not in ("title", "description")}
        type_and_bounds.pop("default", None)
        # Optional in a request (unset: the network's recipe decides), with the same bounds.
        assert request[name]["anyOf"] == [type_and_bounds, {"type": "null"}], name
        assert request[name].get("description") == option.get("description"), name
        assert params[name] == option, name
    job_fields = {"dataset", "model", "validation_split", "shuffle", "seed"}
    job_fields |= {"model_name", "promotion", "promotion_margin"}
    assert set(request) == set(declared) | job_fields | {"name"}
    assert set(params) == set(declared) | job_fields


def test_cancel_a_queued_job_ends_it_at_once(client, job_store):
    job = client.post("/train", json={"epochs": 3}).json()

    response = client.post(f"/jobs/{job['id']}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert job_store.get_job(job["id"]).status == JobStatus.CANCELLED


def test_cancel_a_running_job_asks_its_worker_to_stop(client, job_store):
    job = client.post("/train", json={"epochs": 3}).json()
    job_store.claim_next_job("worker-1", 60, 3)

    response = client.post(f"/jobs/{job['id']}/cancel")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "running" and body["cancel_requested_at"] is not None
    assert job_store.is_cancel_requested(job["id"])


def test_cancel_a_finished_job_is_409(client, job_store):
    job = client.post("/train", json={"epochs": 3}).json()
    job_store.finish_job(job["id"], JobStatus.FAILED, error=RuntimeError("boom"))

    response = client.post(f"/jobs/{job['id']}/cancel")

    assert response.status_code == 409
    assert response.json()["type"] == "conflict"
    assert "already failed" in response.json()["detail"]
    assert client.post("/jobs/nope/cancel").status_code == 404


def test_delete_a_finished_job_removes_record_and_checkpoints(client, job_store, settings):
    job = client.post("/train", json={"epochs": 3}).json()
    checkpoints = settings.job_dir(job["id"]) / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "epoch-0001.weights.h5").write_bytes(b"weights")
    client.post(f"/jobs/{job['id']}/cancel")

    response = client.delete(f"/jobs/{job['id']}")

    assert response.status_code == 204
    assert client.get(f"/jobs/{job['id']}").status_code == 404
    assert not settings.job_dir(job["id"]).exists()


def test_delete_a_running_job_is_409_and_keeps_it(client, job_store):
    job = client.post("/train", json={"epochs": 3}).json()
    job_store.claim_next_job("worker-1", 60, 3)

    response = client.delete(f"/jobs/{job['id']}")

    assert response.status_code == 409
    assert "cancel it" in response.json()["detail"]
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "running"


def test_job_urls_never_come_from_the_host_header(client):
    spoofed = {"host": "attacker.example"}
    response = client.post("/train", json={"epochs": 1}, headers=spoofed)

    assert response.status_code == 202
    job = response.json()
    assert job["url"] == f"/jobs/{job['id']}"
    assert response.headers["location"] == job["url"]
    assert client.get("/jobs", headers=spoofed).json()["data"][0]["url"] == job["url"]
    assert client.get(job["url"], headers=spoofed).json()["url"] == job["url"]


def test_job_urls_start_with_the_public_url_when_one_is_set(settings):
    settings = Settings(
        data_dir=settings.data_dir,
        start_worker=False,
        public_url="https://ml.example.com/",
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        response = client.post("/train", json={"epochs": 1}, headers={"host": "attacker.example"})

    job = response.json()
    assert job["url"] == f"https://ml.example.com/jobs/{job['id']}"
    assert response.headers["location"] == job["url"]


def test_the_public_url_must_be_an_http_address():
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        Settings(public_url="ml.example.com", _env_file=None)
