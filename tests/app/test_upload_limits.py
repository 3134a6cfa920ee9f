"""Request bodies are held to their limit: a raw image to MAX_UPLOAD_BYTES exactly; multipart
forms get an allowance for their framing only."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

LIMIT = 100_000


@pytest.fixture
def small_uploads(settings) -> Iterator[TestClient]:
    settings.max_upload_bytes = LIMIT
    with TestClient(create_app(settings)) as client:
        yield client


def _in_chunks(body: bytes, size: int = 16_384) -> Iterator[bytes]:
    """Sent without Content-Length, so the limit is checked while the body is read."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


RAW = {"content-type": "image/jpeg"}


def test_a_raw_image_over_the_limit_is_413_by_its_length(small_uploads):
    response = small_uploads.post("/predict", content=b"\xff" * (LIMIT + 40_000), headers=RAW)

    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The request body is over this endpoint's limit of {LIMIT} bytes.",
        "type": "payload_too_large",
    }


def test_a_raw_image_over_the_limit_is_413_while_it_streams(small_uploads):
    response = small_uploads.post(
        "/predict", content=_in_chunks(b"\xff" * (LIMIT + 1)), headers=RAW
    )

    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"


def test_a_raw_image_of_exactly_the_limit_is_read(small_uploads):
    by_length = small_uploads.post("/predict", content=b"\xff" * LIMIT, headers=RAW)
    streamed = small_uploads.post("/predict", content=_in_chunks(b"\xff" * LIMIT), headers=RAW)

    # Read, then refused for want of a model: past the size limit.
    assert by_length.status_code == streamed.status_code == 409


def test_a_multipart_image_of_the_limit_gets_room_for_its_framing(small_uploads):
    files = {"file": ("ship.jpg", b"\xff" * LIMIT, "image/jpeg")}

    assert small_uploads.post("/predict", files=files).status_code == 409
