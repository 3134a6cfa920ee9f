"""Kill the worker with SIGKILL again and again, and cancel jobs, on a service this starts itself.

    python -m benchmarks.kill_and_resume --archive ../shared/datasets/cifar10-jpeg.tar.gz

Trains one job undisturbed, then the same job (same seed) while killing the worker `--kills`
times, each time in a later epoch, and prints for each kill how long the job took to train again
(kill to the new attempt's first finished batch), whether the job survived with each epoch once,
and both test accuracies. Then it cancels running jobs and prints how long each took to stop.
"""

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.server import child_pid, running_server
from benchmarks.subsets import first_images_archive
from devkit.datasets import upload_dataset, wait_until_prepared

FINAL = ("succeeded", "failed", "cancelled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="CIFAR-10 JPEG archive")
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--cancels", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        subset = first_images_archive(
            args.archive, Path(folder) / "subset.tar.gz", args.train_per_class, args.test_per_class
        )
        env = {
            "DATA_DIR": str(Path(folder) / "var"),
            "INTERVALS__HEARTBEAT_SECONDS": "1",
            "HEARTBEAT_TIMEOUT_SECONDS": "5",
            "MAX_JOB_ATTEMPTS": str(args.kills + 2),
            "LOG_LEVEL": "WARNING",
        }
        with (
            running_server([sys.executable, "-m", "app"], env) as (url, service),
            httpx.Client(base_url=url, timeout=600) as client,
        ):
            dataset = _upload(client, subset)
            _run(client, service.pid, dataset, args)


def _run(client: httpx.Client, app_pid: int, dataset: str, args: argparse.Namespace) -> None:
    body = {"dataset": dataset, "epochs": args.epochs, "seed": 11}
    undisturbed = _wait(client, _post(client, "/train", body)["id"])
    print(f"undisturbed: {undisturbed['status']}, test accuracy {undisturbed['test_accuracy']:.4f}")

    job_id = _post(client, "/train", body)["id"]
    resume_seconds = []
    for kill in range(args.kills):
        epoch = 2 + kill % max(1, args.epochs - 1)
        _wait_for(client, job_id, lambda job, e=epoch, a=kill + 1: _training(job, e, a))
        os.kill(child_pid(app_pid, b"worker"), signal.SIGKILL)
        killed_at = time.monotonic()
        resumed = _wait_for(client, job_id, lambda job, a=kill + 2: _training(job, None, a))
        resume_seconds.append(time.monotonic() - killed_at)
        print(
            f"kill {kill + 1}: SIGKILL in epoch {epoch}; training again {resume_seconds[-1]:.1f} s "
            f"later, from epoch {resumed['progress']['epoch']}"
        )
    survivor = _wait(client, job_id)
    epochs = [record["epoch"] for record in survivor["history"]]
    print(
        f"killed {args.kills} times: {survivor['status']}, attempts {survivor['attempts']}, "
        f"history epochs {epochs} (each once: {epochs == list(range(1, args.epochs + 1))}), "
        f"test accuracy {survivor['test_accuracy']:.4f} "
        f"(undisturbed {undisturbed['test_accuracy']:.4f})"
    )
    print(
        f"resume after SIGKILL: median {sorted(resume_seconds)[len(resume_seconds) // 2]:.1f} s, "
        f"max {max(resume_seconds):.1f} s"
    )

    for cancel in range(args.cancels):
        job_id = _post(client, "/train", {**body, "epochs": 50})["id"]
        _wait_for(client, job_id, lambda job: _training(job, None, None))
        asked = time.monotonic()
        _post(client, f"/jobs/{job_id}/cancel", None)
        stopped = _wait(client, job_id)
        print(f"cancel {cancel + 1}: {stopped['status']} {time.monotonic() - asked:.2f} s after")


def _training(job: dict, epoch: int | None, attempts: int | None) -> bool:
    """In `epoch` (any if None) of attempt `attempts`, past the first batch of that attempt."""
    progress = job["progress"] or {}
    return (
        job["status"] == "running"
        and (attempts is None or job["attempts"] == attempts)
        and (epoch is None or progress.get("epoch") == epoch)
        and (progress.get("step") or 0) > 0
        and progress.get("images_per_second") is not None
    )


def _wait_for(client: httpx.Client, job_id: str, condition) -> dict:
    while not condition(job := client.get(f"/jobs/{job_id}").json()):
        if job["status"] in FINAL:
            raise SystemExit(f"job {job_id} ended {job['status']} first: {job['error']}")
        time.sleep(0.05)
    return job


def _wait(client: httpx.Client, job_id: str) -> dict:
    while (job := client.get(f"/jobs/{job_id}").json())["status"] not in FINAL:
        time.sleep(0.05)
    return job


def _post(client: httpx.Client, path: str, body: dict | None) -> dict:
    return client.post(path, json=body).raise_for_status().json()


def _upload(client: httpx.Client, archive: Path) -> str:
    dataset = wait_until_prepared(client, upload_dataset(client, archive)["id"], timeout=3600)
    if dataset["status"] != "ready":
        raise SystemExit(f"The dataset failed: {dataset['error']} {dataset['problems']}")
    print(f"dataset: {dataset['train_count']} train / {dataset['test_count']} test images")
    return dataset["id"]


if __name__ == "__main__":
    main()
