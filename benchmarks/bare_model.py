"""The bare batched model: the compiled model called in-process on batches of decoded images, as
the service calls it, with no HTTP, decoding or batching around it. The load benchmark measures
the service's batch requests against it, two ways:

- `one_caller`: one loop in the benchmark's own process, with TensorFlow's own choice of threads
  (a thread per core in each pool), as a program calling the model itself would run it.
- `parallel_callers`: one loop per CPU at once, each on a single TensorFlow thread, in a process
  of its own (`python -m benchmarks.bare_model`, since TensorFlow's pools are fixed per
  process). On a 2-core CPU that got far more from the model than one loop did, and more than
  the service can: it also has HTTP, decoding and its clients to run on the same cores.
"""

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

Measurement = Callable[[float], dict]  # seconds -> {"images_per_second": ...}


def one_caller(model_path: str, pixels: np.ndarray) -> Measurement:
    """Images/s of the model called on `pixels` in a loop in this process."""
    return _measurement(_compiled(model_path, pixels), pixels, callers=1)


@contextmanager
def parallel_callers(model_path: str, pixels: np.ndarray, callers: int) -> Iterator[Measurement]:
    """Images/s of `callers` loops calling the model on `pixels` at once, in a child process
    that waits, idle, between measurements."""
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "pixels.npy"
        np.save(saved, pixels)
        command = [sys.executable, "-m", "benchmarks.bare_model", model_path, str(saved)]
        child = subprocess.Popen(
            [*command, str(callers)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert child.stdin is not None and child.stdout is not None
        for line in child.stdout:  # anything a library prints at start, then "ready"
            if line.strip() == "ready":
                break
        else:
            raise SystemExit("the bare model's process did not start")

        def measure(seconds: float) -> dict:
            child.stdin.write(f"{seconds}\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
            return json.loads(child.stdout.readline())  # type: ignore[union-attr]

        try:
            yield measure
        finally:
            child.stdin.close()
            child.wait(60)


def _compiled(model_path: str, pixels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import keras

    from app.serving.compiled_call import compile_forward

    forward = compile_forward(keras.saving.load_model(model_path, compile=False))
    forward(pixels)  # compiled and warmed up
    return forward


def _measurement(
    forward: Callable[[np.ndarray], np.ndarray], pixels: np.ndarray, callers: int
) -> Measurement:
    def measure(seconds: float) -> dict:
        done = [0] * callers
        deadline = time.perf_counter() + seconds

        def call_until_the_deadline(caller: int) -> None:
            while time.perf_counter() < deadline:
                forward(pixels)
                done[caller] += len(pixels)

        started = time.perf_counter()
        loops = [
            threading.Thread(target=call_until_the_deadline, args=(n,)) for n in range(callers)
        ]
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()
        return {"images_per_second": sum(done) / (time.perf_counter() - started)}

    return measure


def _serve_measurements(model_path: str, pixels_path: str, callers: int) -> None:
    """The child of `parallel_callers`: one measurement per line of seconds read, until stdin
    closes."""
    from app.serving.thread_pools import size_thread_pools_for_serving
    from core.settings import Settings
    from models.backend import apply_tensorflow_defaults

    apply_tensorflow_defaults()
    # One thread within each operation; as many operations at once as there are loops.
    pools = {"intra_op_threads": 1, "inter_op_threads": callers}
    size_thread_pools_for_serving(Settings(_env_file=None, prediction=pools))
    pixels = np.load(pixels_path)
    measure = _measurement(_compiled(model_path, pixels), pixels, callers)
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(measure(float(line))), flush=True)


if __name__ == "__main__":
    _serve_measurements(sys.argv[1], sys.argv[2], int(sys.argv[3]))
