"""Micro-batching: images from concurrent requests that arrive within a short window run
through the model together, as one batch, in one call."""

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.serving.compiled_call import Forward


@dataclass
class _Pending:
    pixels: np.ndarray  # (n, H, W, 3) from one request
    result: asyncio.Future[np.ndarray] = field(repr=False)
    arrived: float  # time.monotonic()


class BatcherClosed(Exception):
    """The model was unloaded (evicted or deleted) after the request picked it."""


class MicroBatcher:
    """Requests wait in a queue; each of the model's threads, once free, takes what waits (up
    to `max_batch` images) as its next batch, and answers it.

    The threads take their batches themselves, not the event loop: the loop, busy with HTTP,
    was slow to notice that the model was free and to start the next batch, which left the
    model idle between batches more often (docs/performance.md). A batch is gathered the moment
    a thread may start it, so what arrived while the model was busy all joins it.

    Up to `batches_in_flight` batches run at once (TensorFlow Serving's `num_batch_threads`),
    but with a batch already in the model, another starts only once a full batch waits:
    smaller ones wait and grow, as they do with one thread (splitting single-image traffic
    over two threads made it slower).

    The window is waited only while requests come together: after a batch of one request, the
    next batch starts at once, so a lone client never waits for company that is not coming.
    """

    def __init__(
        self,
        forward: Forward,
        window_seconds: float,
        max_batch: int,
        on_batch: Callable[[int], None] | None = None,  # told each batch's size
        batches_in_flight: int = 1,
    ) -> None:
        self._forward = forward
        self._window = window_seconds
        self._max_batch = max_batch
        self._on_batch = on_batch
        self.batches_in_flight = batches_in_flight
        # Submitted during this turn of the event loop, handed to the threads at its end, all
        # together: requests that arrive together are seen together.
        self._arrived: list[_Pending] = []
        # Shared with the threads, under `_changed`.
        self._changed = threading.Condition()
        self._waiting: deque[_Pending] = deque()
        self._waiting_images = 0
        self._running = 0  # batches being gathered or in the model
        self._last_batch_requests = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"inference-{n}", daemon=True)
            for n in range(batches_in_flight)
        ]
        for thread in self._threads:
            thread.start()

    async def submit(self, pixels: np.ndarray) -> np.ndarray:
        """The model's outputs for `pixels`, computed in a batch with whatever else waits."""
        if self._closed:
            raise BatcherClosed()
        loop = asyncio.get_running_loop()
        pending = _Pending(pixels, loop.create_future(), time.monotonic())
        self._arrived.append(pending)
        if len(self._arrived) == 1:
            loop.call_soon(self._hand_over)
        return await pending.result

    async def close(self) -> None:
        """Answer every request already waiting, then stop."""
        self._closed = True
        self._hand_over()
        # Joined off the loop, which meanwhile delivers the last batches' answers.
        await asyncio.to_thread(self._join)

    def _hand_over(self) -> None:
        arrived, self._arrived = self._arrived, []
        with self._changed:
            was_idle = not self._waiting
            self._waiting.extend(arrived)
            self._waiting_images += sum(len(pending.pixels) for pending in arrived)
            # Only news that may let a thread start a batch: a thread woken for nothing costs a
            # switch between threads.
            if was_idle or self._waiting_images >= self._max_batch or self._closed:
                self._changed.notify_all()

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()

    def _serve(self) -> None:
        """A model thread: batch after batch, until the batcher closes and nothing waits."""
        while (batch := self._next_batch()) is not None:
            try:
                self._run(batch)
            finally:
                with self._changed:
                    self._running -= 1
                    if self._waiting or self._closed:
                        self._changed.notify_all()

    def _next_batch(self) -> list[_Pending] | None:
        with self._changed:
            while True:
                while not self._may_start():
                    if self._closed and not self._waiting:
                        return None
                    self._changed.wait()
                self._running += 1
                if self._last_batch_requests > 1:
                    self._wait_for_company(self._waiting[0].arrived + self._window)
                batch = self._take_batch()
                if batch:
                    self._last_batch_requests = len(batch)
                    return batch
                self._running -= 1  # another thread took them meanwhile

    def _may_start(self) -> bool:
        """At once with no batch in the model; otherwise once a full batch waits (or the
        batcher is closing)."""
        if not self._waiting or self._running >= self.batches_in_flight:
            return False
        return self._running == 0 or self._closed or self._waiting_images >= self._max_batch

    def _wait_for_company(self, deadline: float) -> None:
        """Until the batch is full or the window, from the first one's arrival, has passed:
        one that waited out a running batch waits no longer."""
        while self._waiting_images < self._max_batch and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._changed.wait(remaining)

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        size = 0
        # The first one always: a request larger than a batch runs as one of its own.
        while self._waiting and (
            not batch or size + len(self._waiting[0].pixels) <= self._max_batch
        ):
            pending = self._waiting.popleft()
            batch.append(pending)
            size += len(pending.pixels)
        self._waiting_images -= size
        return batch

    def _run(self, batch: list[_Pending]) -> None:
        loop = batch[0].result.get_loop()
        try:
            pixels = (
                batch[0].pixels
                if len(batch) == 1
                else np.concatenate([pending.pixels for pending in batch])
            )
            outputs = self._forward(pixels)
        except Exception as error:  # every waiting request gets the error, and serving goes on
            _on_loop(loop, _fail, batch, error)
            return
        _on_loop(loop, _answer, batch, outputs)
        if self._on_batch is not None:
            self._on_batch(len(pixels))


def _on_loop(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: object) -> None:
    # A loop that has closed has nobody waiting for the answer any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


def _answer(batch: list[_Pending], outputs: np.ndarray) -> None:
    start = 0
    for pending in batch:
        end = start + len(pending.pixels)
        if not pending.result.done():  # the client may have gone away
            pending.result.set_result(outputs[start:end])
        start = end


def _fail(batch: list[_Pending], error: Exception) -> None:
    for pending in batch:
        if not pending.result.done():
            pending.result.set_exception(error)
