"""Train through a running service, as a user does, and print what the job reports.

    python -m benchmarks.train_via_api --archive ../shared/datasets/cifar10-jpeg.tar.gz --epochs 10

Uploads the image-folder archive (or uses `--dataset ID`), starts a job, follows it to the end
and prints the upload time, per-epoch history, test accuracy and the job's wall time.
"""

import argparse
import time
from pathlib import Path

import httpx

from devkit.datasets import upload_dataset, wait_until_prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--archive", type=Path, help="image-folder archive to upload")
    parser.add_argument("--dataset", default=None, help="an existing dataset id instead")
    parser.add_argument("--model", default="seed_cnn")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--validation-split", type=float, default=0.1)
    args = parser.parse_args()

    with httpx.Client(base_url=args.url, timeout=600) as client:
        dataset_id = args.dataset or _upload(client, args.archive)
        body = {
            "dataset": dataset_id,
            "model": args.model,
            "epochs": args.epochs,
            "validation_split": args.validation_split,
        }
        if args.batch_size:
            body["batch_size"] = args.batch_size
        started = time.monotonic()
        job = client.post("/train", json=body).raise_for_status().json()
        print(f"job {job['id']}: {job['params']}")
        job = _follow(client, job["id"])
        wall = time.monotonic() - started

    for epoch in job["history"]:
        print(
            f"epoch {epoch['epoch']:>3}: loss {epoch['loss']:.4f} acc {epoch['accuracy']:.4f} "
            f"val_loss {epoch['val_loss']:.4f} val_acc {epoch['val_accuracy']:.4f} "
            f"{epoch['seconds']:.1f} s"
        )
    print(f"status: {job['status']}  replicas: {job['replicas']}  devices: {job['devices']}")
    if job["error"]:
        print(f"error: {job['error']}")
    print(f"test accuracy: {job['test_accuracy']}  test loss: {job['test_loss']}")
    print(f"training seconds (sum of epochs): {sum(e['seconds'] for e in job['history']):.1f}")
    print(f"job wall time, POST /train to final status: {wall:.1f} s")


def _upload(client: httpx.Client, archive: Path) -> str:
    started = time.monotonic()
    uploaded = upload_dataset(client, archive)
    answered = time.monotonic() - started
    dataset = wait_until_prepared(client, uploaded["id"], timeout=3600)
    if dataset["status"] != "ready":
        raise SystemExit(f"The dataset failed: {dataset['error']} {dataset['problems']}")
    print(
        f"uploaded {archive.name}: {dataset['train_count']} train / {dataset['test_count']} test "
        f"images, answered in {answered:.1f} s and prepared in "
        f"{time.monotonic() - started:.1f} s (id {dataset['id']})"
    )
    return dataset["id"]


def _follow(client: httpx.Client, job_id: str) -> dict:
    last = None
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        progress = job["progress"]
        if progress and progress["epoch"] != last:
            last = progress["epoch"]
            print(f"  {job['status']}: epoch {progress['epoch']}/{progress['epochs']}", flush=True)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(1)


if __name__ == "__main__":
    main()
