"""Responses that are not JSON (pictures, model files): how the OpenAPI schema documents them,
and PNGs drawn in a worker thread, since drawing is CPU work that would hold up the event loop."""

from collections.abc import Callable
from typing import Any

from fastapi import Response
from fastapi.concurrency import run_in_threadpool

Responses = dict[int | str, dict[str, Any]]


def binary_responses(media_type: str, description: str, *errors: int) -> Responses:
    binary = {"schema": {"type": "string", "format": "binary"}}
    documented: Responses = {200: {"description": description, "content": {media_type: binary}}}
    return documented | {status: {} for status in errors}


PNG_RESPONSES = binary_responses("image/png", "A PNG image.", 404, 409)


async def png_response(render: Callable[..., bytes], *args: Any) -> Response:
    return Response(await run_in_threadpool(render, *args), media_type="image/png")
