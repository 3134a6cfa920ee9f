import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit.samples import REPO_ROOT, write_image_folder_archive
from tests.integration.running import RunningService, start_service, stop_service

KTS = Path(sys.executable).with_name("kts")  # the console script `pip install -e .` writes
CLASSES = ["airplane", "cat", "ship"]
# 120 training images, 12 of them held out, 30 test images: a training takes seconds.
TRAIN_PER_CLASS, TEST_PER_CLASS = 40, 10
BATCH_SIZE = "12"


@dataclass
class Kts:
    """Runs `kts` as a user does, against one service."""

    url: str

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KTS), *args],
            # PYTHONPATH: this checkout's code, wherever an editable install points.
            env={"KTS_URL": self.url, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **env},
            capture_output=True,
            text=True,
            timeout=300,
        )


@dataclass
class Trained:
    service: RunningService
    kts: Kts
    dataset: dict
    upload: subprocess.CompletedProcess[str]
    train: subprocess.CompletedProcess[str]
    job: dict


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """What a refusal looks like: one `Error: ...` line on stderr, exit code 1."""
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


# Package-wide, as `shared_service`: every `kts` test module uses the one training.
@pytest.fixture(scope="package")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "three-classes.tar.gz"
    return write_image_folder_archive(path, CLASSES, TRAIN_PER_CLASS, TEST_PER_CLASS)


@pytest.fixture(scope="package")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for the package's tests, so that they share one training."""
    folder = tmp_path_factory.mktemp("service")
    running = start_service(folder / "var", folder / "service.log")
    try:
        yield running
    finally:
        stop_service(running)


@pytest.fixture(scope="package")
def trained(shared_service: RunningService, archive: Path) -> Trained:
    """An archive uploaded and a network trained for two epochs, both with `kts`."""
    kts = Kts(shared_service.url)
    upload = kts("datasets", "upload", str(archive), "--name", "three classes")
    assert upload.returncode == 0, upload.stderr
    with shared_service.client() as client:
        dataset = client.get("/datasets").json()["data"][0]
        train = kts(
            "train", "--dataset", dataset["id"], "--epochs", "2", "--batch-size", BATCH_SIZE,
            "--seed", "1", "--name", "from kts", "--wait",
        )  # fmt: skip
        job_id = re.search(r"Queued job (\w+)", train.stdout)
        assert job_id, train.stdout + train.stderr
        job = client.get(f"/jobs/{job_id[1]}").json()
    return Trained(shared_service, kts, dataset, upload, train, job)
