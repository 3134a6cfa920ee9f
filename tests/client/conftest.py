import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.running import RunningService, start_service, stop_service
from tests.samples import write_image_folder_archive

KTS = Path(sys.executable).with_name("kts")  # the console script `pip install -e .` writes
CLASSES = ["airplane", "cat", "ship"]
# 120 training images, 12 of them held out, 30 test images: a training takes seconds.
ARCHIVE_SIZE = {"train_per_class": 40, "test_per_class": 10}
BATCH_SIZE = "12"


@dataclass
class Kts:
    """Runs `kts` as a user does, against one service."""

    url: str

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KTS), *args],
            env={"KTS_URL": self.url, "PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "three-classes.tar.gz"
    return write_image_folder_archive(path, CLASSES, **ARCHIVE_SIZE)


@pytest.fixture(scope="module")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for a module's tests, so that they share one training."""
    folder = tmp_path_factory.mktemp("service")
    running = start_service(folder / "var", folder / "service.log")
    try:
        yield running
    finally:
        stop_service(running)
