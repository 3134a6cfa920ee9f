"""Every error answers in the one JSON shape, whatever the request held or the server hit."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400"]


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_number_is_a_422_in_the_error_shape(client, number):
    response = client.post(
        "/train",
        content=f'{{"epochs": 1, "learning_rate": {number}}}'.encode(),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["field"] == "learning_rate"
    assert "finite" in body["errors"][0]["message"]
    assert client.get("/jobs").json()["count"] == 0


def test_an_unexpected_error_is_a_500_in_the_error_shape(settings, monkeypatch):
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        jobs = app.state.services.jobs

        def broken(*args, **kwargs):
            raise RuntimeError("the database went away, with secrets in the message")

        monkeypatch.setattr(jobs, "list_jobs", broken)
        response = client.get("/jobs")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": "The server met an unexpected error; it has been logged.",
        "type": "internal_server_error",
    }
