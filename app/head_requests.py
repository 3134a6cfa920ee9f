"""HEAD, for every route that answers GET: the GET answer's status and headers, no body.

FastAPI's routes answer only the methods they name, and monitors probe with HEAD. So a HEAD
request is served as the GET it asks about and its body is dropped here, once for all routes.
A stream (a job's events) would run on, unseen, for as long as its job does: at its first body
message the rest of the handler's work is cancelled, and the answer goes out once it has stopped.
"""

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

END_OF_BODY: Message = {"type": "http.response.body", "body": b"", "more_body": False}


class HeadRequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server reads the method from its own scope to send no body with the answer.
        as_get = {**scope, "method": "GET"}
        start: Message = {}
        answered = False

        with anyio.CancelScope() as rest_of_the_answer:

            async def send_headers_only(message: Message) -> None:
                nonlocal start, answered
                if message["type"] == "http.response.start":
                    start = message  # held until the body tells whether the answer is a stream
                elif message["type"] == "http.response.body" and not answered:
                    answered = True
                    if message.get("more_body", False):
                        rest_of_the_answer.cancel()
                    else:
                        await send(start)
                        await send(END_OF_BODY)

            await self.app(as_get, receive, send_headers_only)
        if rest_of_the_answer.cancel_called:
            # Only now, so that by the time the client has its answer, the stream has let go of
            # what it held (its place among the bounded event streams).
            await send(start)
            await send(END_OF_BODY)
        # So that the request metrics name the route the request reached.
        if "route" in as_get:
            scope["route"] = as_get["route"]
