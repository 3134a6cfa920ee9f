"""Refuses requests that a page on another site makes the user's browser send.

Without API keys the service trusts whoever reaches 127.0.0.1, and a browser is such a client:
any site it visits may post a form here. So, as Go's `net/http.CrossOriginProtection` does, an
unsafe method is refused when the browser says it comes from another origin: by
`Sec-Fetch-Site` (every current browser), else by an `Origin` whose host is not this request's
`Host`. Requests with neither header come from programs (curl, httpx, `kts`) and pass.
"""

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# `none`: the user's own doing (the address bar, a bookmark), not another page's.
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def is_cross_origin(headers: Headers) -> bool:
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site:
        return fetch_site not in TRUSTED_FETCH_SITES
    origin = headers.get("origin")
    if origin is None:
        return False
    # `null` (a sandboxed page, a redirect across sites) and unreadable origins have no host.
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


class CrossOriginProtectionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and is_cross_origin(Headers(scope=scope))
        ):
            refusal = error_response(
                403,
                "Cross-origin requests may not change anything: this request came from a page "
                "on another site.",
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
