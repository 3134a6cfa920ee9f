"""Micro-batching: images from concurrent requests that arrive within a short window run
through the model together, as one batch, in one call."""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from app.inference import Forward


@dataclass
class _Pending:
    pixels: np.ndarray  # (n, H, W, 3) from one request
    result: asyncio.Future[np.ndarray] = field(repr=False)
    arrived: float  # event-loop time


class BatcherClosed(Exception):
    """The model was unloaded (evicted or deleted) after the request picked it."""


class MicroBatcher:
    """Collects submissions for up to `window_seconds` after the first one arrived (or until
    `max_batch` images wait), then runs them as one batch on one of the model's own threads.

    Up to `batches_in_flight` batches run at once (TensorFlow Serving's `num_batch_threads`):
    while one is in the model, the next is gathered, copied together and started, so the model
    is not left idle between batches. But with a batch already in the model, another starts only
    once a full batch waits: smaller ones wait and grow, as they do with one thread (splitting
    single-image traffic over two threads made it slower). What arrives meanwhile queues up and
    joins the next batch.

    The window is waited only while requests come together: after a batch of one request, the
    next batch starts at once, so a lone client never waits for company that is not coming
    (what queues up while a batch runs still joins the next one).
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
        # None, once queued, asks the loop to finish what waits before it and stop.
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._closed = False
        # A thread per batch in flight, off the event loop.
        self._executor = ThreadPoolExecutor(
            max_workers=batches_in_flight, thread_name_prefix="inference"
        )
        self._in_flight: set[asyncio.Task[None]] = set()
        self._queued_images = 0
        self._held: _Pending | None = None  # did not fit in the last batch; starts the next one
        self._news = asyncio.Event()  # a full batch waits, a batch finished, or closing
        self._task: asyncio.Task[None] | None = None
        self._last_batch_requests = 0

    async def submit(self, pixels: np.ndarray) -> np.ndarray:
        """The model's outputs for `pixels`, computed in a batch with whatever else waits."""
        if self._closed:
            raise BatcherClosed()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="micro-batcher")
        loop = asyncio.get_running_loop()
        pending = _Pending(pixels, loop.create_future(), loop.time())
        self._queued_images += len(pixels)
        await self._queue.put(pending)
        if self._waiting_images >= self._max_batch:  # not every request: that costs the loop
            self._news.set()
        return await pending.result

    async def close(self) -> None:
        """Answer every request already waiting, then stop."""
        self._closed = True
        if self._task is not None and not self._task.done():
            await self._queue.put(None)
            self._news.set()
            await self._task
        self._executor.shutdown(wait=False)

    async def _run(self) -> None:
        try:
            await self._gather_and_start_batches()
        finally:
            # Closing, or cancelled: the batches already started still answer their requests.
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _gather_and_start_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # A batch is gathered once it may start, so that what arrives while every thread is
            # busy waits in the queue and joins it.
            await self._until_a_batch_may_start()
            first = self._held or self._took(await self._queue.get())
            self._held, closing = None, False
            if first is None:
                return
            batch, size = [first], len(first.pixels)
            window = self._window if self._last_batch_requests > 1 else 0.0
            # From the first one's arrival: one that waited out the last batch waits no longer,
            # and the model does not sit idle through a window that has already passed.
            deadline = first.arrived + window
            while size < self._max_batch:
                # What queued up while the last batch ran joins at once; then, for up to the
                # window, whatever else arrives.
                if not self._queue.empty():
                    pending = self._took(self._queue.get_nowait())
                elif (remaining := deadline - loop.time()) <= 0:
                    break
                else:
                    try:
                        pending = self._took(await asyncio.wait_for(self._queue.get(), remaining))
                    except TimeoutError:
                        break
                if pending is None:
                    closing = True
                    break
                if size + len(pending.pixels) > self._max_batch:
                    self._held = pending
                    break
                batch.append(pending)
                size += len(pending.pixels)
            self._start(batch, loop)
            self._last_batch_requests = len(batch)
            if closing:
                return

    async def _until_a_batch_may_start(self) -> None:
        """At once with no batch in the model; otherwise once a thread is free and a full batch
        waits (or the batcher is closing)."""
        while self._in_flight and not self._another_batch_may_start():
            self._news.clear()
            await self._news.wait()

    def _another_batch_may_start(self) -> bool:
        thread_free = len(self._in_flight) < self.batches_in_flight
        return thread_free and (self._closed or self._waiting_images >= self._max_batch)

    @property
    def _waiting_images(self) -> int:
        return self._queued_images + (len(self._held.pixels) if self._held else 0)

    def _took(self, pending: _Pending | None) -> _Pending | None:
        if pending is not None:
            self._queued_images -= len(pending.pixels)
        return pending

    def _start(self, batch: list[_Pending], loop: asyncio.AbstractEventLoop) -> None:
        task = asyncio.create_task(self._run_batch(batch, loop), name="micro-batch")
        self._in_flight.add(task)

        def finished(task: asyncio.Task[None]) -> None:
            self._in_flight.discard(task)
            self._news.set()

        task.add_done_callback(finished)

    async def _run_batch(self, batch: list[_Pending], loop: asyncio.AbstractEventLoop) -> None:
        try:
            pixels = np.concatenate([pending.pixels for pending in batch])
            outputs = await loop.run_in_executor(self._executor, self._forward, pixels)
        except Exception as error:  # every waiting request gets the error, and serving goes on
            for pending in batch:
                if not pending.result.done():
                    pending.result.set_exception(error)
            return
        if self._on_batch is not None:
            self._on_batch(len(pixels))
        start = 0
        for pending in batch:
            end = start + len(pending.pixels)
            if not pending.result.done():  # the client may have gone away
                pending.result.set_result(outputs[start:end])
            start = end
