"""API keys, checked before a request's body is read: `Authorization: Bearer <key>`.

The rule, in one place: reading (GET) and predicting need at least a predict key; anything that
starts, changes or deletes something needs an admin key; the health probes and the API's own
documentation are open, and so is the dashboard (`/` and `/static/...`: files only; the API
calls it makes need keys like any other). Without configured keys every request is allowed, and
the server listens on localhost only (see `app/__main__.py`).
"""

import secrets

from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_response
from core.settings import Role

OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/"}
)
# Served by the static-files mount alone, which answers files from app/static only, so a path
# with dot segments (`/static/../jobs`) still reaches no API route.
OPEN_PREFIX = "/static/"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PREDICT_PATHS = frozenset({"/predict"})
ACCEPTED: dict[Role, tuple[Role, ...]] = {"predict": ("predict", "admin"), "admin": ("admin",)}

# Declared on the app so that the OpenAPI documentation shows the scheme; the middleware checks.
bearer_scheme = HTTPBearer(auto_error=False, description="An API key from API_KEYS.")


def needed_role(method: str, path: str) -> Role | None:
    if path.startswith(OPEN_PREFIX) and method in READ_METHODS:
        return None
    path = path.rstrip("/") or "/"
    if path in OPEN_PATHS:
        return None
    if method in READ_METHODS or (method == "POST" and path in PREDICT_PATHS):
        return "predict"
    return "admin"


def role_of(key: str, keys: dict[str, Role]) -> Role | None:
    # Every key is compared, in constant time, so timing reveals nothing about them.
    found = None
    for candidate, role in keys.items():
        if secrets.compare_digest(key.encode(), candidate.encode()):
            found = role
    return found


def client_of(connection: HTTPConnection, keys: dict[str, Role]) -> str:
    """Who a request comes from, for the bounds and turns per client: its API key (already
    checked), or, without configured keys, its address (all clients behind one proxy, or on one
    machine, count as one)."""
    if keys:
        return "key " + connection.headers.get("authorization", "").partition(" ")[2].strip()
    return f"address {connection.client.host if connection.client else None}"


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: dict[str, Role]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys:
            await self.app(scope, receive, send)
            return
        needed = needed_role(scope["method"], scope["path"])
        refusal = None if needed is None else self._refusal(Headers(scope=scope), needed)
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    def _refusal(self, headers: Headers, needed: Role) -> JSONResponse | None:
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return _unauthorized("An API key is required: send `Authorization: Bearer <key>`.")
        role = role_of(key.strip(), self.keys)
        if role is None:
            return _unauthorized("The API key is not valid.")
        if role not in ACCEPTED[needed]:
            return error_response(403, f"This needs an {needed} key; the key sent is a {role} key.")
        return None


def _unauthorized(detail: str) -> JSONResponse:
    response = error_response(401, detail)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response
