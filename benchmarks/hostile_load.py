"""Hostile-load benchmark: ordinary clients predict CIFAR-10 JPEGs while a few hostile clients
send uploads that are cheap to send and expensive to decode.

    python -m benchmarks.hostile_load --archive ../shared/datasets/cifar10-jpeg.tar.gz

Starts `python -m app` (no worker) serving an untrained seed_cnn, then measures, in rounds, the
ordinary clients' latency (single-image requests, one connection each) and `/healthz`'s (one
prober, a request every 20 ms), first calm, then with `--hostile` clients cycling through the
hostile kinds (devkit/hostile_images.py: a progressive JPEG of ten thousand scans, a JPEG padded
with thousands of header segments, blank images of 5000x5000 pixels in five formats, 64 large
PNGs in one request, a PNG header claiming 100,000 x 100,000 pixels; with `--cycle-models`, also
predictions with each of more models than the cache holds in turn, so that each loads one). The
hostile clients run in a process of their own, so that their event loop does not delay the
ordinary clients'.

Prints each phase's figures, what the hostile requests were answered, and the goals: ordinary p99
under attack at most 3 times its calm value, `/healthz` p99 under 100 ms, no 5xx.
"""

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from benchmarks.load_clients import WARM_UP_SECONDS, run_clients
from benchmarks.predict_load import (
    CLASSES,
    cifar_jpegs,
    multipart_bodies,
    service_env,
    wait_for_model_loads,
)
from benchmarks.server import running_server
from core.settings import Settings
from devkit.hostile_images import (
    blank,
    png_claiming,
    progressive_scan_flood,
    segment_padded_jpeg,
)
from devkit.saved_models import save_untrained_model

PROBE_INTERVAL_SECONDS = 0.02


Request = tuple[str, bytes, str]  # (path, body, content type)


def hostile_requests(cifar_jpeg: bytes, model_ids: list[str]) -> dict[str, list[Request]]:
    """Each hostile kind's requests, encoded once: a client sends them in turn."""
    files = {
        "progressive scan flood": [progressive_scan_flood()],
        "segment-padded JPEG": [segment_padded_jpeg()],
        **{f"blank {kind} 5000x5000": [blank(5000, kind)] for kind in ("PNG", "WEBP", "GIF")},
        **{f"blank {kind} 5000x5000": [blank(5000, kind)] for kind in ("TIFF", "PJPEG")},
        "64 blank PNGs 1000x1000": [blank(1000, "PNG")] * 64,
        "PNG claiming 1e10 pixels": [png_claiming(100_000, 100_000)],
    }
    requests = {kind: [("/predict", *_body(images))] for kind, images in files.items()}
    if model_ids:  # more models than the cache holds, one after the other: each request loads one
        requests["a model not loaded"] = [
            (f"/predict?model={model_id}", *_body([cifar_jpeg])) for model_id in model_ids
        ]
    return requests


def _body(images: list[bytes]) -> tuple[bytes, str]:
    fields = [
        ("file", (f"{n}.img", data, "application/octet-stream")) for n, data in enumerate(images)
    ]
    request = httpx.Request("POST", "http://service/predict", files=fields)
    return request.read(), request.headers["content-type"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="CIFAR-10 JPEG archive")
    parser.add_argument("--seconds", type=float, default=10, help="per phase")
    parser.add_argument("--rounds", type=int, default=2, help="calm and attacked phases each")
    parser.add_argument("--ordinary", type=int, default=4, help="ordinary clients")
    parser.add_argument("--hostile", type=int, default=4, help="hostile clients")
    parser.add_argument(
        "--cycle-models",
        action="store_true",
        help="the hostile clients also predict with more models than the cache holds, in turn",
    )
    args = parser.parse_args()

    images = cifar_jpegs(args.archive, 256)
    ordinary_bodies = multipart_bodies(images, 1)
    context = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory() as folder,
        ProcessPoolExecutor(1, mp_context=context) as attackers,
    ):
        data_dir = Path(folder) / "var"
        settings = Settings(data_dir=data_dir, _env_file=None)
        cycled = settings.model_cache_size + 2 if args.cycle_models else 0
        save_untrained_model(settings, CLASSES)  # the first: production, the default model
        others = [save_untrained_model(settings, CLASSES).id for _ in range(cycled)]
        print(f"{len(images)} CIFAR-10 test JPEGs; making the hostile files", flush=True)
        requests = hostile_requests(images[0], others)
        for kind, sent in requests.items():
            print(f"  {kind:<28} {len(sent)} request(s) of {len(sent[0][1]) / 1024:9.1f} KiB")
        app = [sys.executable, "-m", "app"]
        with running_server(app, service_env(data_dir), "/readyz") as (url, _):
            wait_for_model_loads(url, 1)
            phases: dict[str, list[dict]] = {"calm": [], "attacked": []}
            for number in range(args.rounds):
                for phase in ("calm", "attacked") if number % 2 == 0 else ("attacked", "calm"):
                    hostile = None
                    if phase == "attacked":
                        hostile = attackers.submit(
                            _attack, url, requests, args.hostile, args.seconds + 3 * WARM_UP_SECONDS
                        )
                        time.sleep(WARM_UP_SECONDS)
                    result = _measure(url, ordinary_bodies, args)
                    if hostile is not None:
                        result["hostile"] = hostile.result()
                    phases[phase].append(result)
                    _report(f"round {number + 1} {phase:<8}", result)
    _summarize(phases)


def _measure(url: str, bodies: list[tuple[bytes, str]], args: argparse.Namespace) -> dict:
    """The ordinary clients' figures (benchmarks/load_clients.py: `--seconds` after a warm-up)
    and, over the same time, the prober's latencies and failures."""
    probes: list[float] = []
    probe_failures: list[int] = []
    done = threading.Event()
    measure_from = time.perf_counter() + WARM_UP_SECONDS
    prober = threading.Thread(
        target=_probe_health, args=(url, measure_from, done, probes, probe_failures)
    )
    prober.start()
    try:
        ordinary = run_clients(url, bodies, 1, args.ordinary, args.seconds)
    finally:
        done.set()
        prober.join()
    return {
        **ordinary,
        "health_p50_ms": 1000 * statistics.median(probes),
        "health_p99_ms": 1000 * float(np.percentile(probes, 99)),
        "health_failures": len(probe_failures),
    }


def _probe_health(
    url: str,
    measure_from: float,
    done: threading.Event,
    latencies: list[float],
    failures: list[int],
) -> None:
    """GET /healthz every PROBE_INTERVAL_SECONDS until `done`, as a monitor does."""
    with httpx.Client(base_url=url, timeout=120) as client:
        while not done.is_set():
            started = time.perf_counter()
            status = client.get("/healthz").status_code
            if started >= measure_from:
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    failures.append(status)
            done.wait(max(0.0, PROBE_INTERVAL_SECONDS - (time.perf_counter() - started)))


def _attack(url: str, requests: dict[str, list[Request]], clients: int, seconds: float) -> dict:
    """In the hostile clients' process: each client sends the kinds in turn, from a different
    one, until `seconds` have passed; what each kind was answered, and how fast."""
    return asyncio.run(_attack_async(url, requests, clients, seconds))


async def _attack_async(
    url: str, requests: dict[str, list[Request]], clients: int, seconds: float
) -> dict:
    kinds = list(requests)
    sent: Counter[str] = Counter()  # of each kind, by all clients: each sends the next request
    answers: dict[str, Counter[int]] = {kind: Counter() for kind in kinds}
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    stop = time.perf_counter() + seconds

    async def attacker(client: httpx.AsyncClient, offset: int) -> None:
        i = offset
        while time.perf_counter() < stop:
            kind = kinds[i % len(kinds)]
            path, body, content_type = requests[kind][sent[kind] % len(requests[kind])]
            sent[kind] += 1
            started = time.perf_counter()
            try:
                response = await client.post(
                    path, content=body, headers={"content-type": content_type}
                )
                answers[kind][response.status_code] += 1
            except httpx.TransportError:
                answers[kind][0] += 1  # the connection failed: counted as status 0
            times[kind].append(time.perf_counter() - started)
            i += 1

    hostile_clients = [_client(url) for _ in range(clients)]
    await asyncio.gather(*(attacker(client, k) for k, client in enumerate(hostile_clients)))
    for client in hostile_clients:
        await client.aclose()
    return {
        kind: {"answers": dict(answers[kind]), "median_ms": 1000 * statistics.median(times[kind])}
        for kind in kinds
        if times[kind]
    }


def _client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=1))


def _report(label: str, result: dict) -> None:
    print(
        f"{label} ordinary {result['requests_per_second']:7.1f} requests/s "
        f"p50 {result['p50_ms']:6.1f} ms p99 {result['p99_ms']:7.1f} ms; "
        f"/healthz p50 {result['health_p50_ms']:6.1f} ms p99 {result['health_p99_ms']:7.1f} ms; "
        f"failed: {result['failures']} ordinary, {result['health_failures']} /healthz",
        flush=True,
    )
    for kind, seen in result.get("hostile", {}).items():
        print(
            f"    hostile {kind:<28} answered {seen['answers']}, median {seen['median_ms']:.0f} ms"
        )


def _summarize(phases: dict[str, list[dict]]) -> None:
    calm_p99 = statistics.median(run["p99_ms"] for run in phases["calm"])
    attacked_p99 = statistics.median(run["p99_ms"] for run in phases["attacked"])
    health_p99 = max(run["health_p99_ms"] for run in phases["attacked"])
    ordinary_failures = sum(
        run["failures"] + run["health_failures"] for run in phases["calm"] + phases["attacked"]
    )
    hostile_errors = sum(
        count
        for run in phases["attacked"]
        for seen in run["hostile"].values()
        for status, count in seen["answers"].items()
        if status >= 500 or status == 0
    )
    ratio = attacked_p99 / calm_p99
    print("\nagainst the goals (medians of the rounds; /healthz: the worst round):")
    print(
        f"  ordinary p99: calm {calm_p99:.1f} ms, attacked {attacked_p99:.1f} ms: "
        f"{ratio:.2f} times (goal: at most 3)"
    )
    print(f"  /healthz p99 under attack: {health_p99:.1f} ms (goal: under 100 ms)")
    print(
        f"  ordinary requests and probes not answered 200: {ordinary_failures}; hostile requests "
        f"answered 5xx or not at all: {hostile_errors} (goal: none)"
    )


if __name__ == "__main__":
    main()
