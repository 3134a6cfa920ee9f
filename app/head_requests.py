"""HEAD, for every route that answers GET: the GET answer's status and headers, no body.

FastAPI's routes answer only the methods they name, and monitors probe with HEAD. So a HEAD
request is served as the GET it asks about and its body is dropped here, once for all routes.
The answer ends with its first body message: a stream (a job's events) would otherwise run on,
unseen, for as long as the job does, so the rest of the handler's work is cancelled.
"""

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadRequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server reads the method from its own scope to send no body with the answer.
        as_get = {**scope, "method": "GET"}
        answered = False

        with anyio.CancelScope() as rest_of_the_answer:

            async def send_without_body(message: Message) -> None:
                nonlocal answered
                if message["type"] == "http.response.start":
                    await send(message)
                elif message["type"] == "http.response.body" and not answered:
                    answered = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    if message.get("more_body", False):
                        rest_of_the_answer.cancel()

            await self.app(as_get, receive, send_without_body)
        # So that the request metrics name the route the request reached.
        if "route" in as_get:
            scope["route"] = as_get["route"]
