"""Memory benchmark: how much the API and the worker grow while a large dataset is prepared
and trained on.

    python -m benchmarks.memory --archive ../shared/datasets/cifar10-jpeg.tar.gz

Writes an archive of CIFAR-10 images upscaled to `--size` pixels (by default 22,000 of them at
256x256: 4.3 GB decoded), starts `python -m app` as a user does, and samples the anonymous
memory (`RssAnon` in /proc/<pid>/status) of the API, the worker process, and the worker with its
children together (its training process, and the dataset preparation's) every 0.1 s: idle,
while the archive is uploaded and prepared, while a `--model` job trains `--epochs` on it, and
once the worker is idle again. With `--worker-memory-limit`, the worker and its children run in
a cgroup with that memory limit, smaller than the decoded dataset, to show that training does
not need the dataset in memory (needs a writable cgroup memory controller: root, v1 or v2).

Prints each one's peak above its idle level per phase, and the goals: the API under 500 MB and
the worker with its children under 1.5 GB above idle, and the idle worker with its children
after the job within 200 MB of where they started.
"""

import argparse
import io
import os
import tarfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from PIL import Image

from benchmarks.server import running_server
from benchmarks.subsets import add_file, first_images
from devkit.datasets import upload_dataset, wait_until_prepared
from devkit.processes import child_pids, rss_anon

MB = 1024 * 1024
WORKER_TREE = "worker and its children"
GOALS_MB = {"api": 500, WORKER_TREE: 1536}
IDLE_RETURN_MB = 200
# Long enough for the worker's idle training process to have imported TensorFlow.
SETTLE_SECONDS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="the CIFAR-10 JPEG archive")
    parser.add_argument("--work", type=Path, default=Path("var/benchmarks/memory"))
    parser.add_argument("--size", type=int, default=256, help="side of the upscaled images")
    parser.add_argument("--train-per-class", type=int, default=2000)
    parser.add_argument("--test-per-class", type=int, default=200)
    parser.add_argument("--model", default="quick_cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--worker-memory-limit", help="e.g. 2G: the worker's cgroup limit")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    archive = upscaled_archive(args)
    images = 10 * (args.train_per_class + args.test_per_class)
    decoded = images * args.size * args.size * 3
    print(
        f"archive: {archive} ({archive.stat().st_size / MB:.0f} MB), {images} images of "
        f"{args.size}x{args.size}: {decoded / MB:.0f} MB decoded"
    )

    data_dir = args.work / f"var-{time.strftime('%Y%m%d-%H%M%S')}"
    env = {"DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    with (
        running_server(["python", "-m", "app"], env) as (url, app),
        httpx.Client(base_url=url, timeout=600) as client,
    ):
        worker = wait_for_worker(app.pid)
        group = limit_memory(worker, args.worker_memory_limit) if args.worker_memory_limit else None
        sampler = Sampler({"api": app.pid, "worker": worker})
        with sampler.running():
            sampler.phase("idle")
            time.sleep(SETTLE_SECONDS)
            sampler.phase("upload and preparation")
            dataset = prepare(client, archive)
            sampler.phase("training")
            job = train(client, dataset, args)
            sampler.phase("idle after the job")
            time.sleep(SETTLE_SECONDS)
        report(sampler, job, decoded)
        if group is not None:
            print(f"the cgroup's peak usage, page cache included: {cgroup_peak(group) / MB:.0f} MB")


def upscaled_archive(args: argparse.Namespace) -> Path:
    """CIFAR-10's first images of each class, upscaled (bicubic) and saved as JPEGs; made once
    per size and count, then reused."""
    target = args.work / (f"cifar10-{args.size}px-{args.train_per_class}-{args.test_per_class}.tar")
    if target.exists():
        return target
    sources = list(first_images(args.archive, args.train_per_class, args.test_per_class))
    partial = target.with_suffix(".partial")
    # Plain tar: the JPEGs are compressed already, and gzip would only slow the upload down.
    with tarfile.open(partial, "w") as out, ProcessPoolExecutor() as pool:
        upscaled = pool.map(
            _upscale, [data for _, data in sources], [args.size] * len(sources), chunksize=64
        )
        for (name, _), data in zip(sources, upscaled, strict=True):
            add_file(out, name, data)
    partial.replace(target)
    return target


def _upscale(data: bytes, size: int) -> bytes:
    image = (
        Image.open(io.BytesIO(data)).convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def wait_for_worker(app_pid: int, timeout: float = 60) -> int:
    """The app's worker, once it has started its first training process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = child_pids(app_pid, b"worker")
        if workers and child_pids(workers[0], b"worker.training_process"):
            return workers[0]
        time.sleep(0.2)
    raise SystemExit("the app started no worker")


def prepare(client: httpx.Client, archive: Path) -> str:
    started = time.monotonic()
    uploaded = upload_dataset(client, archive)
    print(f"POST /datasets answered 202 in {time.monotonic() - started:.1f} s")
    dataset = wait_until_prepared(client, uploaded["id"], timeout=3600)
    if dataset["status"] == "failed":
        raise SystemExit(f"preparation failed: {dataset}")
    print(
        f"dataset {dataset['id']} ready {time.monotonic() - started:.1f} s after the upload "
        f"began: {dataset['train_count']} train, {dataset['test_count']} test images"
    )
    return str(dataset["id"])


def train(client: httpx.Client, dataset: str, args: argparse.Namespace) -> dict:
    body = {"dataset": dataset, "model": args.model, "epochs": args.epochs, "seed": 1}
    job = client.post("/train", json=body).raise_for_status().json()
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        time.sleep(1)
        job = client.get(f"/jobs/{job['id']}").raise_for_status().json()
    print(
        f"job {job['id']} {job['status']}: test accuracy {job['test_accuracy']}, "
        f"images/s {(job.get('runtime') or {}).get('images_per_second')}, "
        f"error {job['error']}"
    )
    return job


class Sampler:
    """Samples RssAnon of named processes (and of the worker with its descendants together) in
    a thread, keeping each phase's peak and last value."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._phase = ""
        self.peaks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.last: dict[str, dict[str, int]] = defaultdict(dict)
        self._stop = threading.Event()

    def phase(self, name: str) -> None:
        self._phase = name

    @contextmanager
    def running(self):
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for name, pid in self._pids.items():
                self._record(name, rss_anon(pid))
            worker = self._pids["worker"]
            self._record(WORKER_TREE, sum(map(rss_anon, [worker, *descendants(worker)])))

    def _record(self, name: str, value: int) -> None:
        peaks = self.peaks[self._phase]
        peaks[name] = max(peaks[name], value)
        self.last[self._phase][name] = value


def descendants(pid: int) -> list[int]:
    """Every thread's children: the worker starts its preparation child from a thread of its
    own, and /proc lists a child under the thread that started it."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids = children.read_text().split()
        except OSError:  # that thread, or the process, has just ended
            continue
        for child in pids:
            found += [int(child), *descendants(int(child))]
    return found


def limit_memory(pid: int, limit: str) -> Path:
    """Move `pid` and its descendants into a new cgroup whose memory is limited to `limit`
    (their future children join it)."""
    name = f"kts-memory-benchmark-{os.getpid()}"
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    if v2.exists() and "memory" in v2.read_text():
        group = Path("/sys/fs/cgroup") / name
        group.mkdir()
        (group / "memory.max").write_text(str(_bytes(limit)))
        (group / "memory.swap.max").write_text("0")
    else:
        group = Path("/sys/fs/cgroup/memory") / name
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(_bytes(limit)))
    for member in (pid, *descendants(pid)):
        (group / "cgroup.procs").write_text(str(member))
    print(f"worker {pid} and its children limited to {limit} in cgroup {group}")
    return group


def cgroup_peak(group: Path) -> int:
    for name in ("memory.peak", "memory.max_usage_in_bytes"):  # v2, v1
        if (group / name).exists():
            return int((group / name).read_text())
    return 0


def _bytes(text: str) -> int:
    units = {"K": 1024, "M": MB, "G": 1024 * MB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].isalpha() else int(text)


def report(sampler: Sampler, job: dict, decoded: int) -> None:
    idle, after = sampler.last["idle"], sampler.last["idle after the job"]
    names = ("api", "worker", WORKER_TREE)
    print(
        "\nRssAnon, MB above the idle level (idle: "
        + ", ".join(f"{name} {idle[name] / MB:.0f}" for name in names)
        + f"); the dataset is {decoded / MB:.0f} MB decoded"
    )
    for phase in ("upload and preparation", "training"):
        peaks = sampler.peaks[phase]
        print(
            f"  {phase:24} peak: "
            + ", ".join(f"{name} {(peaks[name] - idle[name]) / MB:+.0f}" for name in names)
        )
    print(
        "  idle after the job:          "
        + ", ".join(f"{name} {(after[name] - idle[name]) / MB:+.0f}" for name in names)
    )
    for name, goal in GOALS_MB.items():
        worst = (
            max(sampler.peaks[p][name] for p in ("upload and preparation", "training")) - idle[name]
        ) / MB
        verdict = "met" if worst < goal else "NOT met"
        print(f"goal: {name} under {goal} MB above idle: {worst:+.0f} MB, {verdict}")
    back = (after[WORKER_TREE] - idle[WORKER_TREE]) / MB
    print(
        f"goal: the idle {WORKER_TREE} within {IDLE_RETURN_MB} MB of its start: {back:+.0f} MB, "
        f"{'met' if back < IDLE_RETURN_MB else 'NOT met'}"
    )
    print(f"job: {job['status']}")


if __name__ == "__main__":
    main()
