"""Values of one setting compared on POST /predict, with the load benchmark's clients.

    python -m benchmarks.predict_settings --archive ../shared/datasets/cifar10-jpeg.tar.gz \\
        --setting PREDICT_BATCHES_IN_FLIGHT=1,2 --images 32 --concurrency 8 16 --rounds 3

Starts the service (a seed_cnn, as `predict_load` does) once per value and round, the values
alternating within each round, so that a slow spell of a shared machine does not fall on one
value only. Prints images/s, p50/p99 latency and the server's CPU time per request for each run:
the last moves less with a shared machine's speed than throughput does.
"""

import argparse
import gc
import re
import sys
import tempfile
from pathlib import Path

import httpx

from benchmarks.load_clients import run_clients
from benchmarks.predict_load import (
    CLASSES,
    cifar_jpegs,
    multipart_bodies,
    service_env,
    wait_for_model_loads,
)
from benchmarks.server import cpu_seconds, running_server
from core.settings import Settings
from tests.samples import save_untrained_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="CIFAR-10 JPEG archive")
    parser.add_argument("--setting", required=True, help="NAME=VALUE,VALUE,...")
    parser.add_argument("--images", type=int, default=1, help="images per request")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8, help="per measurement")
    parser.add_argument(
        "--client-processes", type=int, default=1, help="spread the clients over processes"
    )
    args = parser.parse_args()
    name, _, values = args.setting.partition("=")

    images = cifar_jpegs(args.archive, 256)
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "var"
        save_untrained_model(Settings(data_dir=data_dir, _env_file=None), CLASSES)
        bodies = multipart_bodies(images, args.images)
        gc.collect()
        gc.freeze()  # as predict_load does: Keras' objects would slow the clients' collections
        for round_number in range(1, args.rounds + 1):
            for value in values.split(","):
                env = {**service_env(data_dir), name: value}
                app = [sys.executable, "-m", "app"]
                with running_server(app, env, "/readyz") as (url, server):
                    wait_for_model_loads(url, int(env.get("API_PROCESSES", "1")))
                    for concurrency in args.concurrency:
                        served, cpu = predictions_served(url), cpu_seconds(server.pid)
                        result = run_clients(url, bodies, args.images, concurrency, args.seconds)
                        cpu = cpu_seconds(server.pid) - cpu
                        cpu_ms = 1000 * cpu / (predictions_served(url) - served)
                        print(
                            f"round {round_number}  {name}={value:<6} {args.images} images, "
                            f"c={concurrency:<3} {result['images_per_second']:8,.0f} images/s"
                            f"   p50 {result['p50_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms"
                            f"   server {cpu_ms:5.2f} CPU ms/request",
                            flush=True,
                        )


def predictions_served(url: str) -> float:
    """POST /predict requests the service has answered, by its own count (warm-ups included,
    as in its CPU time)."""
    metrics = httpx.get(f"{url}/metrics").text
    pattern = r'^http_requests_total\{method="POST",route="/predict",[^}]*\} (\S+)$'
    return sum(float(count) for count in re.findall(pattern, metrics, re.MULTILINE))


if __name__ == "__main__":
    main()
