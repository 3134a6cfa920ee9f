"""PNG responses: drawn in a worker thread, since drawing is CPU work that would hold up the
event loop, and documented as `image/png` in the OpenAPI schema."""

from collections.abc import Callable
from typing import Any

from fastapi import Response
from fastapi.concurrency import run_in_threadpool

PNG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A PNG image.",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    },
    404: {},
    409: {},
}


async def png_response(render: Callable[..., bytes], *args: Any) -> Response:
    return Response(await run_in_threadpool(render, *args), media_type="image/png")
