"""Load benchmark for POST /predict, against a server it starts itself, with real CIFAR-10 JPEGs.

    python -m benchmarks.predict_load --archive ../shared/datasets/cifar10-jpeg.tar.gz

Saves a seed_cnn (weights do not change its speed) as the service's model, starts `python -m app`,
and sends single-image requests from concurrent clients (httpx, asyncio) at each concurrency, then
requests of `--batch-images` images. In the same run it measures two limits on this machine: the
HTTP floor (the same stack answering an upload with a constant, no model: benchmarks/http_floor.py)
and the bare batched model (benchmarks/bare_model.py: the compiled model called in-process on
batches, by one loop, and by one single-threaded loop per CPU at once). Prints requests/s,
images/s, p50/p99 latency, the CPU the clients used and the CPU the hypervisor took from this
machine for other guests ("stolen") during each, then the ratios the goals name.

Each case is measured in `--rounds` rounds, and in each round the service and its limits one
right after the other, in turn first, with both servers up: a shared machine's speed drifts by
half or more within minutes, so a ratio holds only between measurements seconds apart. A round's
ratio is the service's figure over its limit's in that round; the summary gives their median and
range. On a VM, the hypervisor also takes CPU time for other guests ("stolen", in /proc/stat),
and a round during which it took more than `--max-stolen` CPUs is measured again.

The clients (benchmarks/load_clients.py) each have their own connection and send bodies encoded
once, before measuring, so that they cost this machine as little as they can: on 2 cores they
share it with the server. On a machine with many cores, `--client-processes` spreads them over
processes, since one process's event loop tops out at one CPU.
"""

import argparse
import gc
import os
import re
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import numpy as np

from benchmarks.bare_model import one_caller, parallel_callers
from benchmarks.load_clients import run_clients
from benchmarks.server import cpus_while, running_server
from core.images import decode_rgb
from core.settings import Settings
from devkit.saved_models import save_untrained_model
from models.backend import apply_tensorflow_defaults

LIMIT_NAMES = {
    "floor": "HTTP floor",
    "bare": "bare batched model",
    "parallel": "bare model with one single-threaded loop per CPU",
}
AGAIN = 2  # times a round is measured again while too much CPU is stolen
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="CIFAR-10 JPEG archive")
    parser.add_argument("--seconds", type=float, default=4, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each case")
    parser.add_argument(
        "--max-stolen",
        type=float,
        default=0.25,
        help="CPUs the hypervisor may take for other guests during a round's measurements "
        f"before the round is measured again (up to {AGAIN} times)",
    )
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
    parser.add_argument("--window-ms", type=float, default=None, help="PREDICTION__BATCH_WINDOW_MS")
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
    apply_tensorflow_defaults()  # the one-loop bare model runs in this process
    if args.pin:
        os.sched_setaffinity(0, {0})

    images = cifar_jpegs(args.archive, 256)
    print(f"{len(images)} CIFAR-10 test JPEGs, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "var"
        model_path = save_untrained_model(Settings(data_dir=data_dir, _env_file=None), CLASSES).path
        bodies = {size: multipart_bodies(images, size) for size in (1, args.batch_images)}
        batch = images[: args.batch_images]
        pixels = np.stack([decode_rgb(data, (32, 32), 10**8) for data in batch])
        bare_model = one_caller(model_path, pixels)
        # Keras (imported to save the model) left millions of objects in this process; the
        # collector's full passes over them paused the clients for 100-300 ms, which showed up
        # as the server's latency. Frozen, collections skip them.
        gc.collect()
        gc.freeze()
        env = service_env(data_dir)
        if args.window_ms is not None:
            env["PREDICTION__BATCH_WINDOW_MS"] = str(args.window_ms)
        env["API_PROCESSES"] = str(args.api_processes)
        server_cpus = _other_cpus() if args.pin else None
        app = [sys.executable, "-m", "app"]
        floor = [sys.executable, "-m", "uvicorn", "benchmarks.http_floor:app", "--port", "{port}"]
        floor += ["--log-level", "warning", "--workers", str(args.api_processes)]
        # All up at once, each idle while another is measured.
        with (
            running_server(app, env, "/readyz", server_cpus) as (service_url, _),
            running_server(floor, {}, "/docs", server_cpus) as (floor_url, _),
            # A loop per CPU this process may use (one, with --pin, as for the one-loop model).
            parallel_callers(model_path, pixels, len(os.sched_getaffinity(0))) as parallel_bare,
        ):
            wait_for_model_loads(service_url, args.api_processes)
            print(
                f"seed_cnn, {args.api_processes} serving process(es); {args.rounds} rounds of "
                f"{args.seconds:g} s measurements\n"
            )
            results = {}
            for case in _cases(args):
                loads: dict[str, Callable[[], dict]] = {
                    "service": partial(_load, service_url, bodies, case, args),
                    "floor": partial(_load, floor_url, bodies, case, args),
                }
                if case.batch:
                    loads["bare"] = lambda: cpus_while(lambda: bare_model(args.seconds))
                    loads["parallel"] = lambda: cpus_while(lambda: parallel_bare(args.seconds))
                results[case] = _interleaved(case, loads, args)
    _summarize(results)


@dataclass(frozen=True)
class Case:
    images: int  # per request
    concurrency: int
    batch: bool  # measured against the bare model, not the HTTP floor

    @property
    def limits(self) -> tuple[str, ...]:
        """What the service's figure is a share of: in the goals, the first."""
        return ("bare", "parallel") if self.batch else ("floor",)

    @property
    def unit(self) -> str:
        """The figure the share is taken of."""
        return "images_per_second" if self.batch else "requests_per_second"

    @property
    def label(self) -> str:
        return f"{self.images} image{'s' * (self.images > 1)}, c={self.concurrency}"


def _cases(args: argparse.Namespace) -> list[Case]:
    single = [Case(1, concurrency, batch=False) for concurrency in args.concurrency]
    batch = [Case(args.batch_images, c, batch=True) for c in args.batch_concurrency]
    return single + batch


def _interleaved(
    case: Case, loads: dict[str, Callable[[], dict]], args: argparse.Namespace
) -> dict:
    """Each of `loads` measured once a round, one right after the other, the order turning
    each round so that none is always first. A round in which the hypervisor took more than
    `--max-stolen` CPUs while the service or its limit was measured is measured again, up to
    `AGAIN` times."""
    names = list(loads)
    results: dict[str, list[dict]] = {name: [] for name in names}
    for number in range(args.rounds):
        for attempt in range(AGAIN + 1):
            measured = {}
            for name in in_turn(names, number):
                measured[name] = loads[name]()
                _report(f"  {case.label:<16} round {number + 1}  {name:<7}", measured[name])
            stolen = max(measured[name]["stolen_cpus"] for name in ("service", *case.limits))
            if stolen <= args.max_stolen or attempt == AGAIN:
                break
            print(f"  {case.label:<16} round {number + 1}  again: {stolen:.2f} CPUs were stolen")
        for name, result in measured.items():
            results[name].append(result)
    return results


def in_turn(items: list[str], round_number: int) -> list[str]:
    """`items` in the order of round `round_number` (from 0): each round a different one first."""
    turn = round_number % len(items)
    return items[turn:] + items[:turn]


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


def _summarize(results: dict[Case, dict[str, list[dict]]]) -> None:
    print("\nagainst the goals (median of the rounds, their range in brackets):")
    for case, runs in results.items():
        unit = case.unit
        unit_name = unit.replace("_per_second", "/s")
        rate = _median_and_range([run[unit] for run in runs["service"]], "{:,.0f}")
        p99 = _median_and_range([run["p99_ms"] for run in runs["service"]], "{:.1f}")
        shares = []
        for limit in case.limits:
            share = _median_and_range(
                [
                    100 * service[unit] / limited[unit]
                    for service, limited in zip(runs["service"], runs[limit], strict=True)
                ],
                "{:.0f}%",
            )
            shares.append(f"{share} of the {LIMIT_NAMES[limit]}'s {unit_name}")
        # A share is only as good as the measurements' equal footing.
        stolen = max(run["stolen_cpus"] for side in ("service", *case.limits) for run in runs[side])
        print(
            f"  {case.label}: {rate} {unit_name}, p99 {p99} ms; {'; '.join(shares)}; "
            f"CPUs stolen up to {stolen:.2f}"
        )


def _median_and_range(values: list[float], form: str) -> str:
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{form.format(middle)} ({form.format(low)}-{form.format(high)})"


def _load(url: str, bodies: dict, case: Case, args: argparse.Namespace) -> dict:
    return cpus_while(
        lambda: run_clients(
            url,
            bodies[case.images],
            case.images,
            case.concurrency,
            args.seconds,
            args.client_processes,
        )
    )


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
    stolen = f"CPUs stolen {result['stolen_cpus']:.2f}"
    if "requests_per_second" not in result:  # the bare model
        print(f"{label} {result['images_per_second']:30,.1f} images/s   {stolen}", flush=True)
        return
    rates = f"{result['requests_per_second']:8.1f} requests/s {result['images_per_second']:8.1f}"
    latency = f"p50 {result['p50_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms"
    client = f"clients used {result['client_cpus']:.2f} CPUs"
    failed = f"   {result['failures']} failed" if result["failures"] else ""
    print(f"{label} {rates} images/s   {latency}   {client}   {stolen}{failed}", flush=True)


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
