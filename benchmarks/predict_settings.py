"""Values of one setting compared on POST /predict, with the load benchmark's clients.

    python -m benchmarks.predict_settings --archive ../shared/datasets/cifar10-jpeg.tar.gz \\
        --setting PREDICTION__BATCHES_IN_FLIGHT=1,2 --images 32 --concurrency 8 16 --rounds 5

Starts one service (a seed_cnn, as `predict_load` does) for each value, all at once, each idle
while another is measured, and measures them in turn, round after round, the first in turn
changing each round: a shared machine's speed drifts by half or more within minutes, so values
are compared only between measurements seconds apart. Prints, for each measurement, images/s,
p50/p99 latency, the server's CPU time per request (which moves less with the machine's speed
than throughput does), and the machine's CPUs left idle and stolen (taken by the hypervisor for
other guests); then, for each value, the median of the rounds' images/s as a share of the first
value's in the same round.
"""

import argparse
import gc
import re
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

from benchmarks.load_clients import run_clients
from benchmarks.predict_load import (
    CLASSES,
    cifar_jpegs,
    in_turn,
    multipart_bodies,
    service_env,
    wait_for_model_loads,
)
from benchmarks.server import cpu_seconds, cpus_while, running_server
from core.settings import Settings
from devkit.saved_models import save_untrained_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="CIFAR-10 JPEG archive")
    parser.add_argument("--setting", required=True, help="NAME=VALUE,VALUE,...")
    parser.add_argument("--images", type=int, default=1, help="images per request")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4, help="per measurement")
    parser.add_argument(
        "--client-processes", type=int, default=1, help="spread the clients over processes"
    )
    args = parser.parse_args()
    name, _, listed = args.setting.partition("=")
    values = listed.split(",")

    images = cifar_jpegs(args.archive, 256)
    with tempfile.TemporaryDirectory() as folder, ExitStack() as servers:
        data_dir = Path(folder) / "var"
        save_untrained_model(Settings(data_dir=data_dir, _env_file=None), CLASSES)
        bodies = multipart_bodies(images, args.images)
        gc.collect()
        gc.freeze()  # as predict_load does: Keras' objects would slow the clients' collections
        services = {}
        for value in values:
            env = {**service_env(data_dir), name: value}
            app = [sys.executable, "-m", "app"]
            services[value] = servers.enter_context(running_server(app, env, "/readyz"))
            wait_for_model_loads(services[value][0], int(env.get("API_PROCESSES", "1")))
        results: dict[tuple[str, int], list[dict]] = {}
        for number in range(args.rounds):
            for concurrency in args.concurrency:
                for value in in_turn(values, number):
                    url, server = services[value]
                    result = _measure(url, server.pid, bodies, concurrency, args)
                    results.setdefault((value, concurrency), []).append(result)
                    print(f"round {number + 1}  {name}={value:<6} c={concurrency:<3}", end=" ")
                    print(_measured_line(result), flush=True)
    _summarize(name, values, args.concurrency, results)


def _measure(url: str, pid: int, bodies: list, concurrency: int, args: argparse.Namespace) -> dict:
    """The clients' figures, and the server's CPU time per request and the CPUs left idle and
    stolen, over the whole run, the clients' warm-up included (as in the server's own count)."""
    served, cpu = predictions_served(url), cpu_seconds(pid)
    result = cpus_while(
        lambda: run_clients(
            url, bodies, args.images, concurrency, args.seconds, args.client_processes
        )
    )
    result["server_cpu_ms"] = 1000 * (cpu_seconds(pid) - cpu) / (predictions_served(url) - served)
    return result


def _measured_line(result: dict) -> str:
    return (
        f"{result['images_per_second']:8,.0f} images/s   p50 {result['p50_ms']:6.1f} ms   "
        f"p99 {result['p99_ms']:6.1f} ms   server {result['server_cpu_ms']:5.2f} CPU ms/request"
        f"   CPUs idle {result['idle_cpus']:.2f}, stolen {result['stolen_cpus']:.2f}"
    )


def _summarize(name: str, values: list[str], concurrencies: list[int], results: dict) -> None:
    print(f"\nimages/s as a share of {name}={values[0]}'s in the same round (median, range):")
    for concurrency in concurrencies:
        first = results[(values[0], concurrency)]
        for value in values[1:]:
            shares = [
                100 * result["images_per_second"] / baseline["images_per_second"]
                for result, baseline in zip(results[(value, concurrency)], first, strict=True)
            ]
            print(
                f"  {name}={value}, c={concurrency}: {statistics.median(shares):.0f}% "
                f"({min(shares):.0f}-{max(shares):.0f}%)"
            )


def predictions_served(url: str) -> float:
    """POST /predict requests the service has answered, by its own count (warm-ups included,
    as in its CPU time)."""
    metrics = httpx.get(f"{url}/metrics").text
    pattern = r'^http_requests_total\{method="POST",route="/predict",[^}]*\} (\S+)$'
    return sum(float(count) for count in re.findall(pattern, metrics, re.MULTILINE))


if __name__ == "__main__":
    main()
