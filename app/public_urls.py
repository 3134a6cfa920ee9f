"""Addresses the service answers with (a job's `url`, a `Location` header)."""

from typing import Any

from fastapi import Request


def public_url_for(request: Request, route: str, **params: Any) -> str:
    """The route's address under PUBLIC_URL, else relative to the service; never built from the
    request's Host header, which the client chooses."""
    path = request.app.url_path_for(route, **params)
    public_url = request.app.state.services.settings.public_url
    return f"{public_url}{path}" if public_url else str(path)
