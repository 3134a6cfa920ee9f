"""Refuses request bodies over their limit, before or while they are read.

The limit is MAX_UPLOAD_BYTES (MAX_DATASET_UPLOAD_BYTES for `/datasets`); a multipart form may
be larger by its framing (boundaries, part headers, small fields), and only a multipart form.
"""

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response
from core.settings import Settings

MULTIPART_OVERHEAD_BYTES = 64 * 1024

LimitFor = Callable[[str, str], int]
"""The most bytes a request's body may have, from its path and its content type."""


def body_limits(settings: Settings) -> LimitFor:
    def limit_for(path: str, content_type: str) -> int:
        if path.rstrip("/") == "/datasets":
            limit = settings.max_dataset_upload_bytes
        else:
            limit = settings.max_upload_bytes
        if content_type.lower().startswith("multipart/form-data"):
            limit += MULTIPART_OVERHEAD_BYTES
        return limit

    return limit_for


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: LimitFor) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(scope["path"], headers.get("content-type", ""))
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Answered from the header alone: the body is never read.
            await error_response(413, _message(limit))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI passes HTTPExceptions raised while reading the body on to the
                    # app's handlers, which answer in the API's one error shape.
                    raise HTTPException(413, _message(limit))
            return message

        await self.app(scope, limited_receive, send)


def _message(limit: int) -> str:
    return f"The request body is over this endpoint's limit of {limit} bytes."
