"""Items of a sequence loaded a few positions ahead, in a background thread, while the current
one is used: the next batches are gathered from disk while the accelerator trains on this one."""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")


class ReadAhead(Generic[Item]):
    """`get(i)` answers `load(i)`, and starts loading `i + 1` to `i + depth` (below `count`).

    Reads that come in order find their item ready; any other read is loaded on the spot, so
    the answer never depends on the order of the reads. At most `depth` items wait in memory.
    """

    def __init__(self, load: Callable[[int], Item], count: int, depth: int = 2) -> None:
        self._load = load
        self._count = count
        self._depth = depth
        self._pending: dict[int, Future[Item]] = {}
        self._lock = threading.Lock()
        # One thread: the gather copies with the GIL released, so it overlaps the training step.
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(1, "read-ahead")

    def get(self, index: int) -> Item:
        with self._lock:
            ready = self._pending.pop(index, None)
            self._schedule(index)
        return ready.result() if ready is not None else self._load(index)

    def close(self) -> None:
        """Stop reading ahead and drop what was read; `get` still answers, without it."""
        with self._lock:
            executor, self._executor = self._executor, None
            for future in self._pending.values():
                future.cancel()
            self._pending.clear()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _schedule(self, index: int) -> None:
        if self._executor is None:
            return
        wanted = range(index + 1, min(index + 1 + self._depth, self._count))
        for stale in [i for i in self._pending if i not in wanted]:
            self._pending.pop(stale).cancel()
        for i in wanted:
            if i not in self._pending:
                self._pending[i] = self._executor.submit(self._load, i)
