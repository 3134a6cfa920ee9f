"""Named models through the API: predicting by name, alias or version; moving, removing and
rolling back aliases; the default name; and the serving that follows them."""

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from devkit.samples import cifar_samples

pytestmark = pytest.mark.slow

ADMIN, READER = "admin-key-0123456789", "predict-key-0123456789"


def _predict(client: TestClient, model: str | None = None, **kwargs):
    image = cifar_samples()["test"]["ship"][0]
    query = {"model": model} if model else {}
    return client.post("/predict", params=query, files={"file": ("s.jpg", image)}, **kwargs)


def _move(client: TestClient, name: str, alias: str, version: int, **kwargs):
    return client.put(f"/model-names/{name}/aliases/{alias}", json={"version": version}, **kwargs)


def _wait_until_serving(client: TestClient, version: int, name: str = "sample") -> dict:
    deadline = time.monotonic() + 60
    while True:
        ready = client.get("/readyz").json()
        if ready["ready"] and (ready["name"], ready["version"]) == (name, version):
            return ready
        assert time.monotonic() < deadline, ready
        time.sleep(0.05)


@pytest.fixture
def following(settings):
    """The app, its background loader looking at the aliases every 50 ms."""
    settings.intervals.model_poll_seconds = 0.05
    with TestClient(create_app(settings)) as client:
        yield client


def test_predict_by_id_name_alias_and_version(client, make_model):
    first, second = make_model(), make_model()
    other = make_model(name="flowers")
    assert _move(client, "sample", "staging", 2).status_code == 200

    references = [other.id, "sample", "sample@production", "sample@staging", "sample@2"]
    references += ["sample@1", "sample@latest", "flowers"]
    answered_by = {ref: _predict(client, ref).json()["model_id"] for ref in references}

    assert answered_by == {
        other.id: other.id,
        "sample": first.id,
        "sample@production": first.id,
        "sample@staging": second.id,
        "sample@2": second.id,
        "sample@1": first.id,
        "sample@latest": second.id,
        "flowers": other.id,
    }
    assert _predict(client).json()["model_id"] == first.id  # the default name's production


@pytest.mark.parametrize("reference", ["nope", "sample@nope", "sample@9", "nope@production"])
def test_unknown_names_aliases_and_versions_are_404(client, make_model, reference):
    make_model()

    response = _predict(client, reference)

    assert response.status_code == 404, response.text
    assert response.json()["type"] == "not_found"


def test_a_name_without_production_is_a_409_by_name_and_by_default(client, make_model):
    make_model()
    assert client.delete("/model-names/sample/aliases/production").status_code == 204

    by_name, by_default = _predict(client, "sample"), _predict(client)

    for response in (by_name, by_default):
        assert response.status_code == 409
        assert "no production version" in response.json()["detail"]
    assert _predict(client, "sample@1").status_code == 200


def test_an_alias_move_needs_an_admin_key(settings, make_model):
    settings.api_keys = {ADMIN: "admin", READER: "predict"}
    make_model(), make_model()
    with TestClient(create_app(settings)) as client:
        refused = _move(
            client, "sample", "production", 2, headers={"Authorization": f"Bearer {READER}"}
        )
        aliases = client.get("/model-names/sample", headers={"Authorization": f"Bearer {READER}"})
        allowed = _move(
            client, "sample", "production", 2, headers={"Authorization": f"Bearer {ADMIN}"}
        )

    assert refused.status_code == 403
    assert refused.json()["type"] == "forbidden"
    assert aliases.json()["aliases"] == {"production": 1}  # unmoved by the refusal
    assert allowed.status_code == 200


def test_names_list_their_versions_and_aliases(client, make_model):
    first, second = make_model(), make_model()
    make_model(name="flowers")
    _move(client, "sample", "staging", 2)

    names = client.get("/model-names").json()
    detail = client.get("/model-names/sample").json()

    assert names == {
        "data": [
            {"name": "flowers", "versions": 1, "aliases": {"production": 1}, "default": False},
            {
                "name": "sample",
                "versions": 2,
                "aliases": {"production": 1, "staging": 2},
                "default": True,
            },
        ],
        "count": 2,
    }
    assert [(m["id"], m["version"], m["aliases"]) for m in detail["data"]] == [
        (second.id, 2, ["staging"]),
        (first.id, 1, ["production"]),
    ]
    assert client.get("/model-names/nope").status_code == 404


def test_moves_are_checked_and_recorded_in_the_history(client, make_model):
    make_model(), make_model()

    moved = client.put(
        "/model-names/sample/aliases/production", json={"version": 2, "reason": "better"}
    )
    unknown_version = _move(client, "sample", "production", 9)
    unknown_name = _move(client, "nope", "production", 1)
    bad_alias = _move(client, "sample", "latest", 1)
    history = client.get("/model-names/sample/alias-moves", params={"limit": 1}).json()

    assert moved.status_code == 200
    assert moved.json() | {"moved_at": None} == {
        "name": "sample",
        "alias": "production",
        "old_version": 1,
        "new_version": 2,
        "reason": "better",
        "job_id": None,
        "moved_at": None,
    }
    assert unknown_version.status_code == 404 and unknown_name.status_code == 404
    assert bad_alias.status_code == 422
    assert history["count"] == 2  # the first version's, then this one
    assert [(m["old_version"], m["new_version"]) for m in history["data"]] == [(1, 2)]


def test_rollback_moves_the_alias_back_and_serving_follows(following, make_model):
    first, second = make_model(), make_model()
    assert _wait_until_serving(following, 1)["model_id"] == first.id

    _move(following, "sample", "production", 2)
    after_move = _wait_until_serving(following, 2)
    predicted_after_move = _predict(following).json()["model_id"]
    rollback = following.post("/model-names/sample/rollback", json={"alias": "production"})
    after_rollback = _wait_until_serving(following, 1)
    history = following.get("/model-names/sample/alias-moves").json()["data"]

    assert after_move["model_id"] == predicted_after_move == second.id
    assert rollback.status_code == 200
    assert (rollback.json()["old_version"], rollback.json()["new_version"]) == (2, 1)
    assert rollback.json()["reason"] == "rollback"
    assert after_rollback["model_id"] == first.id == _predict(following).json()["model_id"]
    assert [(m["old_version"], m["new_version"], m["reason"]) for m in history] == [
        (2, 1, "rollback"),
        (1, 2, "set through the API"),
        (None, 1, "first version"),
    ]
    metrics = following.get("/metrics").text
    assert f'serving_model{{model_id="{first.id}",name="sample",version="1"}} 1.0' in metrics
    assert f'serving_model{{model_id="{second.id}",name="sample",version="2"}} 0.0' in metrics


def test_rollback_without_an_earlier_version_is_a_409(client, make_model):
    make_model()

    response = client.post("/model-names/sample/rollback", json={})

    assert response.status_code == 409
    assert "pointed nowhere" in response.json()["detail"]


def test_a_production_version_cannot_be_deleted(client, make_model):
    production, other = make_model(), make_model()

    refused = client.delete(f"/models/{production.id}")
    deleted = client.delete(f"/models/{other.id}")

    assert refused.status_code == 409
    assert "sample@production" in refused.json()["detail"]
    assert client.get(f"/models/{production.id}").status_code == 200
    assert deleted.status_code == 204


def test_the_default_name_chooses_what_answers_requests_naming_no_model(following, make_model):
    make_model()
    other = make_model(name="flowers")
    _wait_until_serving(following, 1)

    response = following.put("/default-model-name", json={"name": "flowers"})
    ready = _wait_until_serving(following, 1, name="flowers")

    assert response.status_code == 200 and response.json() == {"name": "flowers"}
    assert ready["model_id"] == other.id == _predict(following).json()["model_id"]
    assert following.put("/default-model-name", json={"name": "nope"}).status_code == 404


def test_requests_naming_no_model_ask_the_database_nothing(settings, make_model, monkeypatch):
    settings.intervals.model_poll_seconds = 600  # only the first look
    make_model()
    with TestClient(create_app(settings)) as client:
        _wait_until_serving(client, 1)
        registry = client.app.state.services.registry  # type: ignore[attr-defined]
        for method in (
            "resolve",
            "default_name",
            "default_model",
            "default_production",
            "get_alias",
        ):
            monkeypatch.setattr(registry, method, _no_query)

        response = _predict(client)

    assert response.status_code == 200


def _no_query(*args: object) -> None:
    raise AssertionError("a database query on the hot path")


def test_a_real_server_answers_by_name_and_alias(server, make_model):
    import httpx

    first, second = make_model(), make_model()
    host, port = server
    image = cifar_samples()["test"]["ship"][0]
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=60) as http:
        moved = http.put("/model-names/sample/aliases/staging", json={"version": 2})
        answers = [
            http.post("/predict", params={"model": ref}, files={"file": ("s.jpg", image)})
            for ref in ("sample", "sample@staging")
        ]

    assert moved.status_code == 200
    assert [a.json()["model_id"] for a in answers] == [first.id, second.id]


def test_removing_production_makes_the_process_unready_and_says_why(following, make_model):
    model = make_model()
    _wait_until_serving(following, 1)

    removed = following.delete("/model-names/sample/aliases/production")
    deadline = time.monotonic() + 60
    while (readiness := following.get("/readyz")).status_code == 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    assert removed.status_code == 204
    assert readiness.status_code == 503
    assert readiness.json()["name"] == "sample" and readiness.json()["model_id"] is None
    assert "no production version" in readiness.json()["detail"]
    assert following.delete("/model-names/sample/aliases/production").status_code == 404
    serving = f'serving_model{{model_id="{model.id}",name="sample",version="1"}} 0.0'
    assert serving in following.get("/metrics").text  # served no longer


def test_a_production_version_that_fails_to_load_leaves_the_last_one_serving(following, make_model):
    first, broken = make_model(), make_model()
    Path(broken.path).write_bytes(b"not a Keras model")
    _wait_until_serving(following, 1)

    _move(following, "sample", "production", 2)
    deadline = time.monotonic() + 60
    while "failed" not in (readiness := following.get("/readyz").json())["detail"]:
        assert time.monotonic() < deadline, readiness
        time.sleep(0.05)

    assert readiness["ready"] is True
    assert (readiness["model_id"], readiness["version"]) == (first.id, 1)
    assert f"Model {broken.id!r} could not be loaded" in readiness["detail"]
    assert _predict(following).json()["model_id"] == first.id
    assert _predict(following, "sample").status_code == 503  # asked for by name: it says why
