"""Decoding a prediction request's images into one array, within the request's budget.

Small plain JPEGs whose decoding cost is bounded are decoded on the event loop. Everything else
goes to a few threads that clients share in turn (`app/serving/fair_pool.py`), each of which
has it decoded by a child process of its own (`app/serving/decoder_process.py`): first the
request's headers, checked against its budget of pixels, then its images, a chunk at a time.
"""

import os
from collections.abc import Generator, Hashable, Iterator
from contextlib import contextmanager
from queue import SimpleQueue
from typing import Any

import numpy as np

from app.serving.decoder_process import DecoderProcess
from app.serving.fair_pool import FairPool
from app.serving.uploads import Upload
from core.errors import InvalidInputError, ServiceError
from core.images import decode_plain_jpeg, plain_jpeg_pixels
from core.jpeg_structure import has_bounded_decoding_cost
from core.settings import Settings

# Each thread has a decoding process of its own: two decode side by side and leave the other
# CPUs to answering requests (docs/performance.md).
DEFAULT_DECODE_THREADS = 2

# Images this small are decoded on the event loop: the trip to a thread and back costs a
# small JPEG more than its decoding, and the decoders, taking the GIL back after each image,
# kept the model's threads waiting for it. A full batch of CIFAR-sized images, a short stretch
# of decoding, and only files whose decoding cost their size bounds: nothing that may take
# longer ever runs on the loop.
LOOP_DECODE_PIXELS = 64 * 32 * 32
LOOP_DECODE_BYTES = 128 * 1024

# Images decoded in one trip to a child process: enough decoding that the trip's own cost is
# small beside it, little enough that the threads soon take turns between clients.
CHUNK_PIXELS = 1_000_000


def decodes_quickly(uploads: list[Upload], max_pixels: int = LOOP_DECODE_PIXELS) -> bool:
    """Whether the images are plain sequential JPEGs small enough, all together, to decode on
    the event loop (judged by their headers, before decoding)."""
    if sum(len(upload.data) for upload in uploads) > LOOP_DECODE_BYTES:
        return False
    pixels = 0
    for upload in uploads:
        count = plain_jpeg_pixels(upload.data)
        if count is None or not has_bounded_decoding_cost(upload.data):
            return False
        pixels += count
    return pixels <= min(max_pixels, LOOP_DECODE_PIXELS)


class ImageDecoder:
    def __init__(self, settings: Settings) -> None:
        # A request's images together, and so each one, may have this many pixels at most.
        self.max_pixels = min(settings.max_predict_pixels, settings.max_image_pixels)
        threads = settings.prediction.decode_threads or min(DEFAULT_DECODE_THREADS, _cpus())
        self._pool = FairPool(threads, "decode")
        # One child process for each thread, taken by a step for as long as it runs.
        self._processes: SimpleQueue[DecoderProcess] = SimpleQueue()
        for _ in range(threads):
            self._processes.put(DecoderProcess())

    @property
    def threads(self) -> int:
        return self._pool.threads

    async def decode(
        self, uploads: list[Upload], size: tuple[int, int], client: Hashable
    ) -> np.ndarray:
        """The images at `size`, stacked; `client` is whom the threads' time is shared among."""
        if decodes_quickly(uploads, self.max_pixels):
            on_loop = self._decode_on_loop(uploads, size)
            if on_loop is not None:
                return np.stack(on_loop)
        stacked: np.ndarray = await self._pool.run(client, self._decode_in_steps(uploads, size))
        return stacked

    def close(self) -> None:
        self._pool.close()
        while not self._processes.empty():
            self._processes.get().close()

    def _decode_on_loop(
        self, uploads: list[Upload], size: tuple[int, int]
    ) -> list[np.ndarray] | None:
        """Uploads that `decodes_quickly` passed, decoded; None as soon as one is refused:
        Pillow, which says why, runs in a child process."""
        images = []
        for upload in uploads:
            image = decode_plain_jpeg(upload.data, size)
            if image is None:
                return None
            images.append(image)
        return images

    def _decode_in_steps(
        self, uploads: list[Upload], size: tuple[int, int]
    ) -> Generator[None, None, np.ndarray]:
        """Read every header first (one step), refuse the request if its images are over its
        budget, then decode them a chunk (one step) at a time."""
        pixels = self._in_child(uploads, "image_pixels", self.max_pixels)
        if sum(pixels) > self.max_pixels:
            raise InvalidInputError(
                f"The images have {sum(pixels)} pixels in all, over the limit of "
                f"{self.max_pixels} pixels per request (MAX_PREDICT_PIXELS): send fewer or "
                "smaller images."
            )
        yield
        images: list[np.ndarray] = []
        for chunk in _chunks(uploads, pixels):
            images += self._in_child(chunk, "decode_images", size, self.max_pixels)
            yield
        return np.stack(images)

    def _in_child(self, uploads: list[Upload], task: str, *args: object) -> list[Any]:
        """The task's result for each upload, run in a child process; the first refusal raised,
        naming its file."""
        process = self._processes.get()
        try:
            results = process.call(task, [upload.data for upload in uploads], *args)
        finally:
            self._processes.put(process)
        for upload, result in zip(uploads, results, strict=False):
            if isinstance(result, ServiceError):
                with _named(upload):
                    raise result
        return results


def _chunks(uploads: list[Upload], pixels: list[int]) -> Iterator[list[Upload]]:
    """The uploads in runs of about CHUNK_PIXELS (a large image alone): one trip to the child
    process each, short enough for the threads to take turns between clients."""
    chunk: list[Upload] = []
    in_chunk = 0
    for upload, count in zip(uploads, pixels, strict=True):
        if chunk and in_chunk + count > CHUNK_PIXELS:
            yield chunk
            chunk, in_chunk = [], 0
        chunk.append(upload)
        in_chunk += count
    if chunk:
        yield chunk


@contextmanager
def _named(upload: Upload) -> Iterator[None]:
    """Prefixes a refusal of one image with its file name, so a user knows which one."""
    try:
        yield
    except ServiceError as error:
        if upload.filename:
            error.message = f"{upload.filename}: {error.message}"
            error.args = (error.message,)
        raise


def _cpus() -> int:
    return os.cpu_count() or 1
