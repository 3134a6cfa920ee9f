"""HEAD answers as GET does, without the body: monitors that probe with HEAD see the service."""

import http.client
import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

# Headers that may differ between two answers to the same request.
VARYING = {"date"}
PAGES = ["/healthz", "/readyz", "/", "/jobs", "/models", "/static/dashboard.js", "/openapi.json"]


def _same_headers(head, get) -> None:
    assert {k: v for k, v in head.items() if k.lower() not in VARYING} == {
        k: v for k, v in get.items() if k.lower() not in VARYING
    }


@pytest.mark.parametrize("path", [*PAGES, "/jobs/nope", "/train"])
def test_head_answers_as_get_without_the_body(client, path):
    get = client.get(path)
    head = client.head(path)

    assert head.status_code == get.status_code
    assert head.status_code != 405 or path == "/train"  # /train is POST only, for both
    _same_headers(head.headers, get.headers)
    assert head.content == b""


def test_head_follows_the_key_rule_of_get(settings):
    settings.api_keys = {"predict-key-0123456789": "predict"}
    with TestClient(create_app(settings)) as client:
        without_key = client.head("/jobs")
        with_key = client.head("/jobs", headers={"authorization": "Bearer predict-key-0123456789"})
        probe = client.head("/healthz")

    assert without_key.status_code == 401
    assert without_key.headers["www-authenticate"] == "Bearer"
    assert with_key.status_code == 200 and probe.status_code == 200


def _exchange(
    connection: http.client.HTTPConnection, method: str, path: str, json_body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"content-type": "application/json"} if json_body else {}
    connection.request(method, path, body=json_body, headers=headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/", "/jobs"])
def test_over_http_head_answers_as_get_and_sends_no_body(server: tuple[str, int], path):
    connection = http.client.HTTPConnection(*server, timeout=10)

    head_status, head_headers, _ = _exchange(connection, "HEAD", path)
    # On the same connection: a body sent after the HEAD would be read as this answer.
    get_status, get_headers, body = _exchange(connection, "GET", path)

    assert head_status == get_status != 405
    _same_headers(head_headers, get_headers)
    assert len(body) == int(get_headers["content-length"])
    connection.close()


def test_over_http_head_of_an_event_stream_ends_at_once(server: tuple[str, int]):
    connection = http.client.HTTPConnection(*server, timeout=10)
    job_id = json.loads(_exchange(connection, "POST", "/train", b'{"epochs": 1}')[2])["id"]

    started = time.monotonic()
    status, headers, body = _exchange(connection, "HEAD", f"/jobs/{job_id}/events")

    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert body == b"" and time.monotonic() - started < 5
    # The stream's handler finished (requests are counted as they end), and the connection
    # serves the next request.
    pattern = re.compile(
        r'http_requests_total\{method="HEAD",route="/jobs/\{job_id\}/events",status="200"\} 1.0'
    )
    deadline = time.monotonic() + 5
    while not pattern.search(_exchange(connection, "GET", "/metrics")[2].decode()):
        assert time.monotonic() < deadline, "the HEAD of the event stream is still running"
        time.sleep(0.05)
    connection.close()
