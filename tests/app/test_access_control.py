import logging

import pytest
from fastapi.testclient import TestClient

from app.__main__ import bind_address
from app.auth import needed_role
from app.main import create_app
from core.settings import Settings

ADMIN, READER = "admin-key-0123456789", "predict-key-0123456789"


@pytest.fixture
def guarded(settings):
    settings.api_keys = {ADMIN: "admin", READER: "predict"}
    with TestClient(create_app(settings)) as client:
        yield client


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# (method, path, the request's keyword arguments)
Call = tuple[str, str, dict]
WRITES: list[Call] = [
    ("POST", "/train", {"json": {"epochs": 1}}),
    ("POST", "/datasets", {"files": {"file": ("a.tar.gz", b"x" * 100)}}),
    ("DELETE", "/datasets/some-id", {}),
    ("POST", "/jobs/some-id/cancel", {}),
    ("DELETE", "/jobs/some-id", {}),
    ("DELETE", "/models/some-id", {}),
    ("PUT", "/model-names/some-name/aliases/production", {"json": {"version": 1}}),
    ("DELETE", "/model-names/some-name/aliases/production", {}),
    ("POST", "/model-names/some-name/rollback", {"json": {}}),
    ("PUT", "/default-model-name", {"json": {"name": "some-name"}}),
]
READS: list[Call] = [("GET", "/jobs", {}), ("GET", "/models", {}), ("GET", "/datasets", {})]
READS += [("GET", "/architectures", {}), ("GET", "/model-names", {})]
READS += [("GET", "/model-names/some-name/alias-moves", {})]
READS += [("GET", "/metrics", {}), ("POST", "/predict", {"files": {"file": ("x.jpg", b"x")}})]


@pytest.mark.parametrize(("method", "path", "body"), WRITES + READS)
def test_every_endpoint_but_the_probes_needs_a_key(guarded, method, path, body):
    response = guarded.request(method, path, **body)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_changes_need_an_admin_key(guarded, method, path, body):
    refused = guarded.request(method, path, headers=_auth(READER), **body)
    allowed = guarded.request(method, path, headers=_auth(ADMIN), **body)

    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "This needs an admin key; the key sent is a predict key.",
        "type": "forbidden",
    }
    assert allowed.status_code not in (401, 403)


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_reads_and_predictions_take_either_key(guarded, method, path, body):
    for key in (READER, ADMIN):
        assert guarded.request(method, path, headers=_auth(key), **body).status_code not in (
            401,
            403,
        )


def test_a_wrong_key_is_refused_and_never_echoed_or_logged(guarded, caplog):
    wrong = "not-a-key-5f3a9c"
    with caplog.at_level(logging.DEBUG):
        response = guarded.get("/jobs", headers=_auth(wrong))

    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is not valid."
    assert wrong not in response.text and wrong not in caplog.text
    assert ADMIN not in caplog.text and READER not in caplog.text


def test_probes_and_documentation_are_open(guarded):
    for path in ("/healthz", "/openapi.json", "/docs"):
        assert guarded.get(path).status_code == 200
    assert guarded.get("/readyz").status_code == 503  # open, and no model yet
    schemes = guarded.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"


def test_the_documentation_declares_a_key_on_exactly_the_guarded_operations(guarded):
    paths = guarded.get("/openapi.json").json()["paths"]

    for path, operations in paths.items():
        for method, operation in operations.items():
            guarded_operation = needed_role(method.upper(), path) is not None
            assert ("security" in operation) == guarded_operation, (method, path)
    assert paths["/predict"]["post"]["security"] == [{"HTTPBearer": []}]


def test_the_dashboard_page_and_its_files_are_open(guarded):
    page = guarded.get("/")
    script = guarded.get("/static/dashboard.js")
    style = guarded.get("/static/dashboard.css")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    # The data the page shows still needs a key.
    assert guarded.get("/jobs").status_code == 401


# Encoded, so the client sends the dot segments as they are.
DOT_SEGMENTS = ["/static/%2e%2e/jobs", "/static/..%2fjobs", "/static/%2E%2E/models"]


@pytest.mark.parametrize("path", DOT_SEGMENTS)
def test_the_open_static_prefix_leads_to_no_api_route(guarded, path):
    response = guarded.get(path)

    assert response.status_code == 404
    assert "data" not in response.json()


def test_the_open_static_prefix_is_open_for_reading_only(guarded):
    response = guarded.post("/static/dashboard.js", content=b"x")

    assert response.status_code == 401


def test_keys_are_read_from_the_environment_format():
    settings = Settings(api_keys="s3cret-a:admin, s3cret-b:predict", _env_file=None)

    assert settings.api_keys == {"s3cret-a": "admin", "s3cret-b": "predict"}
    with pytest.raises(ValueError, match="entry 1 is not") as error:
        Settings(api_keys="s3cret-a:root", _env_file=None)
    assert "s3cret-a" not in str(error.value)


def test_without_keys_the_server_binds_to_localhost_and_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        host = bind_address(Settings(host="0.0.0.0", _env_file=None))

    assert host == "127.0.0.1"
    assert "no API_KEYS configured" in caplog.text
    keyed = Settings(host="0.0.0.0", api_keys="k:admin", _env_file=None)
    assert bind_address(keyed) == "0.0.0.0"
