"""A few threads shared fairly between clients, for work done in small steps.

A client's expensive uploads must not hold every thread while another client's request waits:
a thread works for one client for at most a time slice (finishing the step it is in), then
takes the next client's work in turn. Work is a generator whose every `next()` is one step (a
few images decoded); what it returns is the result.
"""

import asyncio
import contextlib
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Generator, Hashable
from dataclasses import dataclass, field
from typing import Any

Steps = Generator[None, None, Any]

SLICE_SECONDS = 0.01


@dataclass
class _Work:
    steps: Steps
    loop: asyncio.AbstractEventLoop
    result: asyncio.Future[Any] = field(repr=False)
    abandoned: bool = False  # the request went away: its remaining steps are skipped


class FairPool:
    def __init__(self, threads: int, name: str) -> None:
        self.threads = threads
        self._changed = threading.Condition()
        # Clients with work waiting, in turn order: the one served longest ago first.
        self._waiting: OrderedDict[Hashable, deque[_Work]] = OrderedDict()
        self._serving: Counter[Hashable] = Counter()  # threads busy for each client
        self._closed = False
        for number in range(threads):
            threading.Thread(target=self._serve, name=f"{name}-{number}", daemon=True).start()

    async def run(self, client: Hashable, steps: Steps) -> Any:
        """Run `steps` to the end on the pool's threads, in turn with other clients' work."""
        loop = asyncio.get_running_loop()
        work = _Work(steps, loop, loop.create_future())
        with self._changed:
            self._waiting.setdefault(client, deque()).append(work)
            self._changed.notify()
        try:
            return await work.result
        except asyncio.CancelledError:
            work.abandoned = True
            raise

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._waiting:
                    if self._closed:
                        return
                    self._changed.wait()
                client, work = self._take_next()
                self._serving[client] += 1
            finished = _run_for_a_slice(work)
            with self._changed:
                self._serving[client] -= 1
                if not finished:  # its next turn comes after every other waiting client's
                    self._waiting.setdefault(client, deque()).append(work)
                    self._changed.notify()

    def _take_next(self) -> tuple[Hashable, _Work]:
        """The oldest work of the waiting client that fewest threads serve now, the one served
        longest ago among equals; it goes to the back of the turn order."""
        client = min(self._waiting, key=self._serving.__getitem__)
        queue = self._waiting.pop(client)
        work = queue.popleft()
        if queue:
            self._waiting[client] = queue
        return client, work


def _run_for_a_slice(work: _Work) -> bool:
    """Step `work` until it ends or its slice is used up; True once it has ended."""
    deadline = time.monotonic() + SLICE_SECONDS
    try:
        while not work.abandoned:
            next(work.steps)
            if time.monotonic() >= deadline:
                return False
        work.steps.close()
    except StopIteration as done:
        _post(work, done.value, None)
    except Exception as error:
        _post(work, None, error)
    return True


def _post(work: _Work, value: Any, error: BaseException | None) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
        work.loop.call_soon_threadsafe(_settle, work.result, value, error)


def _settle(result: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if result.done():  # cancelled meanwhile
        return
    if error is None:
        result.set_result(value)
    else:
        result.set_exception(error)
