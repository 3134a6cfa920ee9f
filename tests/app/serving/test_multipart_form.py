"""The in-memory multipart parser: every part intact and in order, however the body arrives,
and a 400 for each malformed or oversized form."""

import asyncio

import httpx
import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.serving.multipart_form import MAX_FIELD_BYTES, FormPart, read_form

# Bytes that look like multipart framing inside a file must come back as they were.
AWKWARD = b"\r\n--not-the-boundary\r\n\x00\xff" * 50


def _encoded(files: list, data: dict | None = None) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://service/predict", files=files, data=data)
    return request.read(), request.headers["content-type"]


def _parse(body: bytes, content_type: str, chunk: int = 65536, **limits) -> list[FormPart]:
    return asyncio.run(_parse_streamed(body, content_type, chunk, limits)[0])


def _parse_streamed(body: bytes, content_type: str, chunk: int, limits: dict):
    """(coroutine, the number of body bytes the parser has asked for so far)."""
    sent = [0]

    async def receive() -> dict:
        start = sent[0]
        sent[0] = min(len(body), start + chunk)
        return {
            "type": "http.request",
            "body": body[start : sent[0]],
            "more_body": sent[0] < len(body),
        }

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b""}
    scope["headers"] = [(b"content-type", content_type.encode())]
    limits = {"max_files": 100, "max_fields": 10, **limits}
    return read_form(Request(scope, receive), **limits), sent


@pytest.mark.parametrize("chunk", [65536, 7, 1])
def test_every_part_comes_back_intact_and_in_order_however_the_body_arrives(chunk):
    body, content_type = _encoded(
        [
            ("file", ("a.jpg", AWKWARD, "image/jpeg")),
            ("other", ("b.png", b"", "image/png")),
            ("file", ("c.jpg", b"third", "image/jpeg")),
        ],
        {"model": "m-1", "top_k": "3"},
    )

    parts = _parse(body, content_type, chunk)

    # httpx writes the text fields first, then the files in the order given.
    assert [(p.name, p.filename, p.data) for p in parts] == [
        ("model", None, b"m-1"),
        ("top_k", None, b"3"),
        ("file", "a.jpg", AWKWARD),
        ("other", "b.png", b""),
        ("file", "c.jpg", b"third"),
    ]


@pytest.mark.parametrize("raw", [b"caf\xc3\xa9.jpg", b"caf\xe9.jpg"], ids=["utf-8", "latin-1"])
def test_a_filename_is_read_as_utf8_or_else_as_latin1(raw):
    body = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="' + raw + b'"\r\n\r\n'
        b"data\r\n--x--\r\n"
    )

    (part,) = _parse(body, "multipart/form-data; boundary=x")

    assert part.filename == "café.jpg" and part.data == b"data"


def test_too_many_files_are_refused_before_their_data_is_read():
    big = b"\xff" * 100_000
    body, content_type = _encoded([("file", (f"{i}.jpg", big, "image/jpeg")) for i in range(4)])
    parse, sent = _parse_streamed(body, content_type, 1000, {"max_files": 2})

    with pytest.raises(HTTPException) as refused:
        asyncio.run(parse)

    assert refused.value.status_code == 400
    assert refused.value.detail == "Too many files. Maximum number of files is 2."
    assert sent[0] < 2 * len(big) + 5000  # stopped at the third file's headers


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"--x\r\n", "multipart/form-data", "Missing boundary"),
        (b"--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--\r\n", None, "Content-Disposition"),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--\r\n", None, '"name"'),
        (b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nv', None, "end of multipart"),
        (b"--y\r\nnot a header line\r\n\r\n", None, "Invalid multipart data"),
        (b"garbage before any boundary", None, "Invalid multipart data"),
        (
            b'--x\r\nContent-Disposition: form-data; name="model"\r\n\r\n'
            + b"m" * (MAX_FIELD_BYTES + 1)
            + b"\r\n--x--\r\n",
            None,
            "Form field 'model' is over",
        ),
    ],
)
def test_malformed_forms_are_a_400_that_says_why(body, content_type, message):
    with pytest.raises(HTTPException) as refused:
        _parse(body, content_type or "multipart/form-data; boundary=x")

    assert refused.value.status_code == 400
    assert message in refused.value.detail


def test_too_many_text_fields_are_refused():
    body, content_type = _encoded([("file", ("a.jpg", b"x", "image/jpeg"))], {"a": "1", "b": "2"})

    with pytest.raises(HTTPException) as refused:
        _parse(body, content_type, max_fields=1)

    assert refused.value.detail == "Too many fields. Maximum number of fields is 1."
