"""Bounds on the job event streams open at once, per client and in all, in this process.

Each open stream reads its job from the database several times a second for as long as the job
runs; without a bound, one client could open hundreds and slow everyone's requests down.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import TooManyRequestsError

# Streams last as long as their jobs: a place frees up at the pace jobs end or clients leave.
RETRY_AFTER_SECONDS = 15
FOLLOW_INSTEAD = "or follow the job with GET /jobs/{id}"


class StreamSlots:
    def __init__(self, most: int, most_per_client: int) -> None:
        self.most = most
        self.most_per_client = most_per_client
        self.open_by_client: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return self.open_by_client.total()

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        """A place for one stream of `client`'s, for as long as the stream lasts."""
        if self.open_by_client[client] >= self.most_per_client:
            raise TooManyRequestsError(
                f"You have {self.most_per_client} event streams open, the most one client "
                f"may have: close one, {FOLLOW_INSTEAD}.",
                RETRY_AFTER_SECONDS,
            )
        if self.open >= self.most:
            raise TooManyRequestsError(
                f"The server has {self.most} event streams open, its most: try again later, "
                f"{FOLLOW_INSTEAD}.",
                RETRY_AFTER_SECONDS,
            )
        self.open_by_client[client] += 1
        try:
            yield
        finally:
            self.open_by_client[client] -= 1
            if not self.open_by_client[client]:
                del self.open_by_client[client]
