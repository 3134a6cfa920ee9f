"""Decoding uploads in a child process: what an untrusted file costs stays out of the server.

Some decoders hold the GIL for long stretches at a time (a large WebP), header parsers run
as Python (a PNG of a million text chunks), and a decoder may crash or hang on a file built to
make it: in a process of its own, at a lower CPU priority, none of that holds up the threads
answering requests, and a crash or a hang costs the one request its image.
"""

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from core.errors import InvalidInputError, ServiceError
from core.images import decode_rgb, open_image

# Above the server's: the child takes the CPU that answering requests leaves.
NICENESS = 10
# Far longer than the largest image within the budget takes, even on a busy machine.
TIMEOUT_SECONDS = 30.0


def image_pixels(images: list[bytes], max_pixels: int) -> list[int | ServiceError]:
    """Each image's pixel count, read from its header, up to the first refusal."""
    counts: list[int | ServiceError] = []
    for data in images:
        try:
            width, height = open_image(data, max_pixels).size
        except ServiceError as error:
            return [*counts, error]
        counts.append(width * height)
    return counts


def decode_images(
    images: list[bytes], size: tuple[int, int], max_pixels: int
) -> list[np.ndarray | ServiceError]:
    """Each image decoded at `size`, up to the first refusal."""
    decoded: list[np.ndarray | ServiceError] = []
    for data in images:
        try:
            decoded.append(decode_rgb(data, size, max_pixels))
        except ServiceError as error:
            return [*decoded, error]
    return decoded


TASKS: dict[str, Callable[..., list[Any]]] = {
    "image_pixels": image_pixels,
    "decode_images": decode_images,
}


class DecoderProcess:
    """One child process, started on first use and again after it crashed or hung; one
    caller at a time."""

    def __init__(self) -> None:
        self._process: Any = None  # multiprocessing's SpawnProcess
        self._connection: Connection | None = None

    def call(self, task: str, *args: Any) -> list[Any]:
        """`TASKS[task](*args)`, run in the child."""
        connection = self._connection
        if connection is None or not self._alive():
            connection = self._start()
        connection.send((task, args))
        if not connection.poll(TIMEOUT_SECONDS):
            self.close()
            raise InvalidInputError(
                f"The image took longer than {TIMEOUT_SECONDS:.0f} s to decode, and was given up."
            )
        try:
            results: list[Any] = connection.recv()
        except (EOFError, OSError):
            self.close()
            raise InvalidInputError(
                "The image could not be decoded: its decoder failed on it."
            ) from None
        return results

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()  # the child reads end-of-file and exits
            self._connection = None
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process = None

    def _alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _start(self) -> Connection:
        self.close()
        # Spawned, not forked: the server's process holds TensorFlow's threads.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(theirs,), name="image-decoder", daemon=True
        )
        self._process.start()
        theirs.close()
        self._connection = ours
        return ours


def _serve(connection: Connection) -> None:
    """The child's loop: until the server closes its end (or is gone), run what it sends."""
    os.nice(NICENESS)
    while True:
        try:
            task, args = connection.recv()
        except EOFError:
            return
        connection.send(TASKS[task](*args))
