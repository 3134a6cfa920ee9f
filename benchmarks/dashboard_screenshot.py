"""The README's dashboard screenshot, of the real service with real content.

    python -m benchmarks.dashboard_screenshot --data ../shared/datasets/cifar10-jpeg.tar.gz

Starts the service (`python -m app`, its worker included) on a temporary DATA_DIR, uploads the
first images of each class of an image-folder archive, trains one job to the end, starts a
longer one and queues a third, then photographs the dashboard in Debian's chromium while the
second one runs, with a prediction shown, and cancels what is left.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.server import running_server
from benchmarks.subsets import first_image, first_images_archive
from devkit.datasets import upload_dataset, wait_until_prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="image-folder archive (.tar.gz)")
    parser.add_argument("--train-per-class", type=int, default=300)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("docs/dashboard.png"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        subset = first_images_archive(
            args.data, Path(folder) / "subset.tar.gz", args.train_per_class, args.test_per_class
        )
        an_image = first_image(subset, "test", "ship")
        env = {"DATA_DIR": str(Path(folder) / "var"), "CPU_REPLICAS": "1"}
        with (
            running_server([sys.executable, "-m", "app"], env) as (url, _),
            httpx.Client(base_url=url, timeout=60) as client,
        ):
            dataset = _upload(client, subset)
            finished = _train(client, dataset, "quick_cnn", 6, "quick_cnn, 6 epochs")
            _wait(client, finished, lambda job: job["status"] == "succeeded", 900)
            running = _train(client, dataset, "seed_cnn", 30, "seed_cnn, longer run")
            queued = _train(client, dataset, "quick_cnn", 10, "next in line")
            _wait(client, running, lambda job: (job["progress"] or {}).get("epoch", 0) >= 2)
            _photograph(url, an_image, args.out)
            for job_id in (queued, running):
                client.post(f"/jobs/{job_id}/cancel")
    print(f"wrote {args.out}")


def _upload(client: httpx.Client, archive: Path) -> str:
    uploaded = upload_dataset(client, archive, name="CIFAR-10 subset")
    dataset = wait_until_prepared(client, uploaded["id"], timeout=3600)
    if dataset["status"] != "ready":
        raise SystemExit(f"The dataset failed: {dataset['error']} {dataset['problems']}")
    return uploaded["id"]


def _train(client: httpx.Client, dataset: str, model: str, epochs: int, name: str) -> str:
    body = {"dataset": dataset, "model": model, "epochs": epochs, "name": name, "seed": 0}
    response = client.post("/train", json=body)
    response.raise_for_status()
    return response.json()["id"]


def _wait(client: httpx.Client, job_id: str, done, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if done(job):
            return
        if job["status"] in ("failed", "cancelled"):
            raise SystemExit(f"job {job_id} {job['status']}: {job['error']}")
        time.sleep(1)
    raise SystemExit(f"job {job_id} took more than {timeout} s")


def _photograph(url: str, image: bytes, out: Path) -> None:
    from playwright.sync_api import FilePayload

    from devkit.browser import launch_chromium

    with launch_chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(url)
        # Both figures of the finished job's model drawn, the running job's ETA shown.
        page.wait_for_function(
            "document.querySelectorAll('#models img[src^=\"blob:\"]').length >= 2", timeout=120_000
        )
        page.locator("#jobs .progress-text", has_text="ETA").wait_for(timeout=120_000)
        ship: FilePayload = {"name": "ship.jpg", "mimeType": "image/jpeg", "buffer": image}
        page.set_input_files("#predict-files", files=[ship])
        page.locator("#predictions .prediction").wait_for(timeout=120_000)
        # The finished job's worker log, opened under the jobs.
        page.locator("#jobs tr.status-succeeded .show-log").click()
        page.locator("#log-lines li", has_text="job succeeded").wait_for(timeout=30_000)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)


if __name__ == "__main__":
    main()
