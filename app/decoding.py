"""Decoding a prediction request's images into one array, within the request's budget.

Small plain JPEGs whose decoding cost is bounded are decoded on the event loop; everything else
goes to a few threads that clients share in turn (`app/fair_pool.py`), one image per step, after
the request's images, read from their headers, are checked against its budget of pixels.
"""

import os
from collections.abc import Generator, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from app.fair_pool import FairPool
from core.errors import InvalidInputError, ServiceError
from core.images import decode_plain_jpeg, decode_rgb, open_image, plain_jpeg_pixels
from core.jpeg_structure import has_bounded_decoding_cost
from core.settings import Settings

# Decoders release the GIL, but the Python around each image needs it back, so more threads
# only fight over it (README, "Predictions under load").
DEFAULT_DECODE_THREADS = 2

# Images this small are decoded on the event loop: the trip to a thread and back costs a
# 32x32 JPEG several times its decoding, and the decoders, taking the GIL back after each
# image, kept the model's threads waiting for it. A full batch of CIFAR-sized images, about
# 1 ms of decoding, and only files whose decoding cost their size bounds: nothing that may take
# longer ever runs on the loop.
LOOP_DECODE_PIXELS = 64 * 32 * 32
LOOP_DECODE_BYTES = 128 * 1024


@dataclass
class Upload:
    filename: str | None
    data: bytes


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
        threads = settings.predict_decode_threads or min(DEFAULT_DECODE_THREADS, _cpus())
        self._pool = FairPool(threads, "decode")

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
        return await self._pool.run(client, self._decode_in_steps(uploads, size))

    def close(self) -> None:
        self._pool.close()

    def _decode_on_loop(self, uploads: list[Upload], size: tuple[int, int]) -> list | None:
        """None as soon as one is refused: Pillow, which says why, runs in the threads."""
        images = []
        for upload in uploads:
            image = decode_plain_jpeg(upload.data, size, self.max_pixels)
            if image is None:
                return None
            images.append(image)
        return images

    def _decode_in_steps(
        self, uploads: list[Upload], size: tuple[int, int]
    ) -> Generator[None, None, np.ndarray]:
        total = 0
        for upload in uploads:
            with _named(upload):
                width, height = open_image(upload.data, self.max_pixels).size
            total += width * height
        if total > self.max_pixels:
            raise InvalidInputError(
                f"The images have {total} pixels in all, over the limit of {self.max_pixels} "
                "pixels per request (MAX_PREDICT_PIXELS): send fewer or smaller images."
            )
        yield  # the headers were one step; each image is one more
        images = []
        for upload in uploads:
            with _named(upload):
                images.append(decode_rgb(upload.data, size, self.max_pixels))
            yield
        return np.stack(images)


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
