"""Riding out a service that restarts while the client follows something on it."""

import time
from collections.abc import Callable

from client.api import ServiceError


class Outage:
    """Tracks failed tries: a refusal is raised at once (asking again will not help), the user
    is told once per outage, and an outage longer than `give_up_after` seconds is raised."""

    def __init__(self, on_reconnect: Callable[[ServiceError], None], give_up_after: float) -> None:
        self._on_reconnect = on_reconnect
        self._give_up_after = give_up_after
        self._since: float | None = None

    def failed(self, error: ServiceError) -> None:
        if error.status is not None and error.status < 500:
            raise error  # refused (unknown id, bad key)
        if self._since is None:
            self._since = time.monotonic()
            self._on_reconnect(error)
        elif time.monotonic() - self._since > self._give_up_after:
            raise error

    def ended(self) -> None:
        self._since = None
