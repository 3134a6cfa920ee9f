"""Load benchmark for POST /predict, against a server it starts itself, with real CIFAR-10 JPEGs.

    python -m benchmarks.predict_load --archive ../shared/datasets/cifar10-jpeg.tar.gz

Saves a seed_cnn (weights do not change its speed) as the service's model, starts `python -m app`,
and sends single-image requests from concurrent clients (httpx, asyncio) at each concurrency, then
requests of `--batch-images` images. In the same run it measures two limits on this machine: the
HTTP floor (the same stack answering an upload with a constant, no model: benchmarks/http_floor.py)
and the bare batched model (the compiled model called in-process on batches, before the servers
start and after they stop). Prints requests/s, images/s, p50/p99 latency and the CPU the clients
used for each, then the ratios the goals name.

The clients (benchmarks/load_clients.py) each have their own connection and send bodies encoded
once, before measuring, so that they cost this machine as little as they can: on 2 cores they
share it with the server. On a machine with many cores, `--client-processes` spreads them over
processes, since one process's event loop tops out at one CPU.
"""

import argparse
import gc
import os
import re
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.load_clients import run_clients
from benchmarks.server import running_server
from core.settings import Settings
from core.tensorflow_env import apply_tensorflow_defaults
from tests.samples import save_untrained_model

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="CIFAR-10 JPEG archive")
    parser.add_argument("--seconds", type=float, default=10, help="per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batch-images", type=int, default=32)
    parser.add_argument("--batch-concurrency", type=int, nargs="+", default=[4, 8])
    parser.add_argument(
        "--client-processes",
        type=int,
        default=1,
        help="spread the clients over this many processes (on a machine with many cores, one "
        "process's event loop is the limit)",
    )
    parser.add_argument("--window-ms", type=float, default=None, help="PREDICT_BATCH_WINDOW_MS")
    parser.add_argument(
        "--api-processes",
        type=int,
        default=1,
        help="API_PROCESSES of the service, and as many uvicorn workers for the HTTP floor",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run the clients on CPU 0 and the servers on the other CPUs, so that they do not "
        "compete for the same cores",
    )
    args = parser.parse_args()
    apply_tensorflow_defaults()  # the bare model runs in this process, as the service runs it
    if args.pin:
        os.sched_setaffinity(0, {0})

    images = cifar_jpegs(args.archive, 256)
    print(f"{len(images)} CIFAR-10 test JPEGs, {os.cpu_count()} CPUs\n")
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "var"
        model_path = save_untrained_model(Settings(data_dir=data_dir, _env_file=None), CLASSES).path
        bodies = {size: multipart_bodies(images, size) for size in (1, args.batch_images)}
        # Measured before and after the servers: a shared machine's speed drifts within a run
        # (4,991 against 6,424 images/s in two runs minutes apart), and a ratio to one
        # measurement would carry all of that drift.
        bare = [_bare_model(model_path, images, args.batch_images, args.seconds)]
        # Keras (imported to save the model) left millions of objects in this process; the
        # collector's full passes over them paused the clients for 100-300 ms, which showed up
        # as the server's latency. Frozen, collections skip them.
        gc.collect()
        gc.freeze()
        env = service_env(data_dir)
        if args.window_ms is not None:
            env["PREDICT_BATCH_WINDOW_MS"] = str(args.window_ms)
        env["API_PROCESSES"] = str(args.api_processes)
        server_cpus = _other_cpus() if args.pin else None
        app = [sys.executable, "-m", "app"]
        with running_server(app, env, "/readyz", server_cpus) as (url, _):
            wait_for_model_loads(url, args.api_processes)
            print(f"service (seed_cnn), {args.api_processes} serving process(es):")
            service = _measure_all(url, bodies, args)
        floor = [sys.executable, "-m", "uvicorn", "benchmarks.http_floor:app", "--port", "{port}"]
        floor += ["--log-level", "warning", "--workers", str(args.api_processes)]
        with running_server(floor, {}, "/docs", server_cpus) as (url, _):
            print("HTTP floor (same stack, constant answer, no model):")
            floor_results = _measure_all(url, bodies, args)
        bare.append(_bare_model(model_path, images, args.batch_images, args.seconds))
        print(
            f"bare batched model, in-process, batches of {args.batch_images}: {bare[0]:,.0f} "
            f"images/s before the servers, {bare[1]:,.0f} after"
        )
    _summarize(service, floor_results, bare, args)


def wait_for_model_loads(url: str, processes: int) -> None:
    """Until every serving process has loaded the model: /readyz answers for one of them only,
    while /metrics adds up the loads of all."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{url}/metrics").text
        found = re.search(r"^model_load_seconds_count (\S+)$", metrics, re.MULTILINE)
        if found and float(found.group(1)) >= processes:
            return
        time.sleep(0.5)
    raise SystemExit(f"the model was not loaded by {processes} processes within 180 s")


def service_env(data_dir: Path) -> dict[str, str]:
    """The environment of `python -m app` serving the models in `data_dir`, without a worker."""
    return {"DATA_DIR": str(data_dir), "START_WORKER": "false", "LOG_LEVEL": "WARNING"}


def _measure_all(
    url: str, bodies: dict[int, list[tuple[bytes, str]]], args: argparse.Namespace
) -> dict[str, dict]:
    """Single-image requests at each concurrency, then `--batch-images` per request at each
    `--batch-concurrency`."""
    results = {}
    for concurrency in args.concurrency:
        results[f"c={concurrency}"] = _load(url, bodies, 1, concurrency, args)
        _report(f"  1 image,  c={concurrency:<3}", results[f"c={concurrency}"])
    for concurrency in args.batch_concurrency:
        key = f"batch c={concurrency}"
        results[key] = _load(url, bodies, args.batch_images, concurrency, args)
        _report(f"  {args.batch_images} images, c={concurrency:<3}", results[key])
    return results


def _summarize(service: dict, floor: dict, bare: list[float], args: argparse.Namespace) -> None:
    print("\nagainst the goals:")
    for concurrency in args.concurrency:
        key = f"c={concurrency}"
        share = service[key]["requests_per_second"] / floor[key]["requests_per_second"]
        p99 = service[key]["p99_ms"]
        print(f"  1 image, {key}: {share:.0%} of the HTTP floor's requests/s, p99 {p99:.1f} ms")
    for concurrency in args.batch_concurrency:
        images_per_second = service[f"batch c={concurrency}"]["images_per_second"]
        low, high = sorted(images_per_second / limit for limit in bare)
        shares = f"{100 * low:.0f}-{high:.0%}"
        print(
            f"  {args.batch_images} images per request, c={concurrency}: {shares} of the bare "
            "batched model (measured before and after the servers)"
        )


def _load(url: str, bodies: dict, per_request: int, concurrency: int, args) -> dict:  # type: ignore[no-untyped-def]
    requests = bodies[per_request]
    return run_clients(url, requests, per_request, concurrency, args.seconds, args.client_processes)


def multipart_bodies(images: list[bytes], per_request: int) -> list[tuple[bytes, str]]:
    """(body, content type) of requests of `per_request` JPEGs each, every image used, encoded
    once: encoding 32 files per request cost httpx more CPU than the server's whole answer."""
    bodies = []
    for start in range(0, len(images), per_request):
        files = [
            ("file", (f"{j}.jpg", images[(start + j) % len(images)], "image/jpeg"))
            for j in range(per_request)
        ]
        request = httpx.Request("POST", "http://service/predict", files=files)
        bodies.append((request.read(), request.headers["content-type"]))
    return bodies


def _report(label: str, result: dict) -> None:
    rates = f"{result['requests_per_second']:8.1f} requests/s {result['images_per_second']:8.1f}"
    latency = f"p50 {result['p50_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms"
    client = f"clients used {result['client_cpus']:.2f} CPUs"
    failed = f"   {result['failures']} failed" if result["failures"] else ""
    print(f"{label} {rates} images/s   {latency}   {client}{failed}")


def _bare_model(model_path: str, images: list[bytes], batch: int, seconds: float) -> float:
    import keras

    from app.inference import compile_forward
    from core.images import decode_rgb

    model = keras.saving.load_model(model_path, compile=False)
    forward = compile_forward(model)
    pixels = np.stack([decode_rgb(data, (32, 32), 10**8) for data in images[:batch]])
    forward(pixels)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        forward(pixels)
        done += batch
    return done / (time.perf_counter() - started)


def _other_cpus() -> set[int]:
    every = set(range(os.cpu_count() or 1))
    return (every - {0}) or every


def cifar_jpegs(archive: Path, count: int) -> list[bytes]:
    found = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.isfile() and "/test/" in f"/{member.name}" and member.name.endswith(".jpg"):
                found.append(tar.extractfile(member).read())  # type: ignore[union-attr]
                if len(found) == count:
                    break
    return found


if __name__ == "__main__":
    main()
