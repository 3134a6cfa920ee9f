"""Preparing uploads as a worker does: claimed, decoded in a real child process into memory-mapped
arrays, and recorded; crashes, dead preparers and stop requests along the way."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from core.datasets import preparation
from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.datasets.loading import dataset_arrays_dir, dataset_dir, load_dataset_arrays
from core.datasets.preparation import prepare_next_dataset
from core.datasets.registration import register_dataset_archive
from core.datasets.status import DatasetStatus
from core.datasets.store import DatasetStore
from core.tables import Dataset
from devkit.processes import child_pids
from devkit.samples import REPO_ROOT, write_image_folder_archive
from tests.integration.running import has_ended, wait_for_exit

CLASSES = ["airplane", "cat", "ship"]
CHILD = preparation.CHILD_MODULE.encode()
# Decoding these (3,000 images, each resized to 96x96) takes seconds: time to interrupt it.
SLOW_IMAGE_SIZE = (96, 96)


@pytest.fixture
def store(sessions) -> DatasetStore:
    return DatasetStore(sessions)


@pytest.fixture
def upload(settings, store):
    """An archive registered as POST /datasets registers it: processing, unclaimed."""

    def make(archive: Path, image_size: tuple[int, int] | None = None) -> Dataset:
        return register_dataset_archive(
            archive, "upload.tar.gz", "upload", image_size, settings, store
        )

    return make


@pytest.fixture(scope="module")
def slow_archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("slow") / "slow.tar.gz"
    return write_image_folder_archive(path, CLASSES, train_per_class=1000)


def _copy(archive: Path, tmp_path: Path) -> Path:
    copy = tmp_path / f"copy-{time.monotonic_ns()}.tar.gz"
    copy.write_bytes(archive.read_bytes())
    return copy


def _wait_for(condition, timeout: float = 60, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.02)


class ProgressSeen(DatasetStore):
    """The store, noting each progress its heartbeats record."""

    def __init__(self, store: DatasetStore) -> None:
        super().__init__(store._sessions)
        self.progress: list[dict] = []

    def heartbeat_dataset(self, dataset_id, worker_id, progress=None) -> bool:
        if progress is not None:
            self.progress.append(progress)
        return super().heartbeat_dataset(dataset_id, worker_id, progress)


def test_an_upload_is_prepared_into_read_only_memory_maps(
    settings, store, upload, make_archive, tmp_path
):
    archive = make_archive(CLASSES, train_per_class=20, test_per_class=5)
    expected = import_image_folder_archive(
        archive, ArchiveLimits(10_000, 10**9, 10**7), settings.max_image_pixels, 512
    )
    source_bytes = archive.read_bytes()
    dataset = upload(archive)
    seen = ProgressSeen(store)

    prepared = prepare_next_dataset(settings, seen, "w")

    assert prepared is not None and prepared.id == dataset.id
    assert prepared.status == DatasetStatus.READY and prepared.attempts == 1
    assert prepared.class_names == CLASSES and prepared.image_shape == [32, 32, 3]
    assert (prepared.train_count, prepared.test_count, prepared.test_split) == (60, 15, "archive")
    assert prepared.class_counts == expected.class_counts
    assert prepared.progress == {"done": 75, "total": 75} and prepared.claimed_by is None
    assert seen.progress[0] == {"done": 0, "total": 75}
    assert seen.progress[-1] == {"done": 75, "total": 75}
    arrays = load_dataset_arrays(prepared, settings)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        array = getattr(arrays, name)
        assert isinstance(array, np.memmap) and not array.flags.writeable, name
        assert np.array_equal(array, getattr(expected.arrays, name)), name
    folder = dataset_dir(settings, dataset.id)
    assert sorted(path.name for path in folder.iterdir()) == ["arrays", "source.tar.gz"]
    assert (folder / "source.tar.gz").read_bytes() == source_bytes


def test_nothing_is_prepared_when_no_upload_waits(settings, store, upload, make_archive):
    assert prepare_next_dataset(settings, store, "w") is None

    upload(make_archive(["cat", "ship"], train_per_class=5, test_per_class=1))
    prepare_next_dataset(settings, store, "w")

    assert prepare_next_dataset(settings, store, "w") is None


def test_an_unusable_upload_fails_listing_every_problem_and_keeps_its_archive(
    settings, store, upload, make_archive
):
    archive = make_archive(
        ["cat"],
        train_per_class=3,
        extra={"train/cat/bad.jpg": b"\xff\xd8xx", "train/stray.jpg": b"x"},
    )
    dataset = upload(archive)

    failed = prepare_next_dataset(settings, store, "w")

    assert failed is not None and failed.status == DatasetStatus.FAILED
    assert failed.error_message == "The dataset archive is not usable."
    problems = failed.problems or []
    assert any(p.startswith("train/cat/bad.jpg: ") for p in problems)
    assert "train/stray.jpg: expected <split>/<class>/<image>" in problems
    assert "Only one class (cat): at least 2 are needed." in problems
    assert failed.class_names is None and failed.train_count is None
    folder = dataset_dir(settings, dataset.id)
    assert sorted(path.name for path in folder.iterdir()) == ["source.tar.gz"]


def test_an_archive_that_cannot_be_read_fails_naming_no_server_path(
    settings, store, upload, make_archive
):
    dataset = upload(make_archive(["cat", "ship"], train_per_class=5, test_per_class=1))
    (dataset_dir(settings, dataset.id) / "source.tar.gz").unlink()

    failed = prepare_next_dataset(settings, store, "w")

    assert failed is not None and failed.status == DatasetStatus.FAILED
    error = failed.error_message or ""
    assert error.startswith("The archive is truncated or corrupt: [Errno 2]")
    assert f"DATA_DIR/datasets/{dataset.id}/source.tar.gz" in error
    assert str(settings.data_dir.resolve()) not in error


def test_progress_is_reported_chunk_by_chunk_with_the_rows_written_so_far(
    settings, slow_archive, monkeypatch, tmp_path
):
    from core.datasets import image_folder

    monkeypatch.setattr(image_folder, "CHUNK_IMAGES", 500)
    monkeypatch.setattr(image_folder, "CHUNK_SECONDS", 0)
    folder = tmp_path / "arrays"
    chunks: list[tuple[int, int]] = []
    flushed_rows: list[int] = []

    def on_chunk(done: int, total: int) -> None:
        chunks.append((done, total))
        if done:  # what another process reading the file sees now
            on_disk = np.load(folder / "x_train.npy", mmap_mode="r")
            flushed_rows.append(int(np.count_nonzero(on_disk.reshape(len(on_disk), -1).any(1))))

    image_folder.write_image_folder_arrays(
        slow_archive, folder, ArchiveLimits(10_000, 10**9, 10**7), 10**7, 512, None, on_chunk
    )

    assert chunks[0] == (0, 3000) and chunks[-1] == (3000, 3000)
    assert [done for done, _ in chunks[1:-1]] == list(range(500, 3000, 500))
    # A held-out fifth of the images is written to the test split, the rest to train.
    assert flushed_rows == sorted(flushed_rows) and flushed_rows[-1] == 2400
    assert flushed_rows[0] >= 300


# Decodes an archive into memory-mapped arrays, chunks ending every 256 images: its peak resident
# memory above what it held before, as JSON.
PEAK_MEMORY_WHILE_DECODING = """
import json, sys
from pathlib import Path
from core.datasets import image_folder
from core.datasets.archives import ArchiveLimits

def resident_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

image_folder.CHUNK_SECONDS = 0
before = resident_kib("VmRSS")
imported = image_folder.write_image_folder_arrays(
    Path(sys.argv[1]), Path(sys.argv[2]), ArchiveLimits(10_000, 10**9, 10**7), 10**7, 512,
    (192, 192), lambda done, total: None,
)
arrays = imported.arrays
print(json.dumps({
    "peak_kib": resident_kib("VmHWM") - before,
    "arrays_kib": (arrays.x_train.nbytes + arrays.x_test.nbytes) // 1024,
}))
"""


def test_decoding_holds_about_a_chunk_of_images_whatever_the_dataset_size(slow_archive, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_WHILE_DECODING, str(slow_archive), tmp_path / "a"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(result.stdout)

    # 3,000 images of 108 KiB: 316 MiB of arrays; a chunk of 256 of them, 27 MiB.
    assert measured["arrays_kib"] > 300 * 1024
    assert measured["peak_kib"] < 100 * 1024, measured


def test_the_child_imports_neither_tensorflow_nor_keras():
    probe = f"import {preparation.CHILD_MODULE}, sys; print(' '.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()

    assert "core.datasets.image_folder" in loaded
    assert not {"tensorflow", "keras", "jax", "sqlalchemy"} & set(loaded)


def test_a_child_that_crashes_is_tried_again_then_the_dataset_fails(
    settings, store, upload, make_archive, monkeypatch
):
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    monkeypatch.setattr(preparation, "child_command", lambda request: [sys.executable, "-c", crash])
    dataset = upload(make_archive(["cat", "ship"], train_per_class=5, test_per_class=1))

    attempts = [prepare_next_dataset(settings, store, "w") for _ in range(3)]

    assert [d.status if d else None for d in attempts] == ["processing", "processing", "failed"]
    assert [d.attempts if d else None for d in attempts] == [1, 2, 3]
    failed = store.get_dataset(dataset.id)
    assert failed.error_message == (
        "Its preparation crashed (attempt 3 of 3: killed by SIGSEGV); it is not tried again."
    )
    assert failed.claimed_by is None
    assert prepare_next_dataset(settings, store, "w") is None


def test_a_child_that_makes_no_progress_is_stopped_and_counts_as_a_crash(
    settings, store, upload, make_archive, monkeypatch
):
    hang = "import time; time.sleep(600)"  # as a decoder stuck on an image would
    monkeypatch.setattr(preparation, "child_command", lambda request: [sys.executable, "-c", hang])
    settings = settings.model_copy(
        update={"preparation_stall_seconds": 1.0, "max_preparation_attempts": 1}
    )
    dataset = upload(make_archive(["cat", "ship"], train_per_class=5, test_per_class=1))

    started = time.monotonic()
    failed = prepare_next_dataset(settings, store, "w")

    assert failed is not None and failed.status == "failed"
    assert failed.error_message == (
        "Its preparation crashed (attempt 1 of 1: no progress for 1 s); it is not tried again."
    )
    assert time.monotonic() - started < 60  # not the child's 600 s
    assert store.get_dataset(dataset.id).claimed_by is None


def test_a_child_killed_mid_way_is_tried_again_and_the_dataset_is_ready(
    settings, store, upload, slow_archive, tmp_path
):
    dataset = upload(_copy(slow_archive, tmp_path), SLOW_IMAGE_SIZE)
    outcomes: list[Dataset | None] = []
    first = threading.Thread(target=lambda: outcomes.append(prepare_next_dataset(settings)))
    first.start()
    partial = dataset_dir(settings, dataset.id) / "arrays.partial"
    _wait_for(partial.exists, what="decoding")
    (child,) = child_pids(os.getpid(), CHILD)
    os.kill(child, signal.SIGKILL)
    first.join(60)

    again = prepare_next_dataset(settings, store, "w")

    assert outcomes[0] is not None and outcomes[0].status == DatasetStatus.PROCESSING
    assert again is not None and again.status == DatasetStatus.READY
    assert again.attempts == 2 and again.train_count == 2400
    assert load_dataset_arrays(again, settings).image_shape == (96, 96, 3)


def test_a_preparer_killed_mid_way_is_replaced_once_its_lease_lapses(
    settings, store, upload, slow_archive, tmp_path
):
    dataset = upload(_copy(slow_archive, tmp_path), SLOW_IMAGE_SIZE)
    preparer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from core.settings import Settings; "
            "from core.datasets.preparation import prepare_next_dataset; "
            "prepare_next_dataset(Settings(data_dir=sys.argv[1], _env_file=None), None, 'doomed')",
            str(settings.data_dir),
        ],
        cwd=REPO_ROOT,
    )
    partial = dataset_dir(settings, dataset.id) / "arrays.partial"
    _wait_for(partial.exists, what="decoding")
    (child,) = child_pids(preparer.pid, CHILD)
    preparer.kill()
    preparer.wait()

    # Its lifeline cut, the orphaned child stops decoding too.
    assert wait_for_exit(child, timeout=10)
    assert store.get_dataset(dataset.id).claimed_by == "doomed"
    assert prepare_next_dataset(settings, store, "successor") is None  # the lease holds
    quick = settings.model_copy(update={"heartbeat_timeout_seconds": 0.5})
    time.sleep(1)
    replaced = prepare_next_dataset(quick, store, "successor")

    assert replaced is not None and replaced.status == DatasetStatus.READY
    assert replaced.attempts == 2 and replaced.train_count == 2400


def test_a_stopping_worker_hands_the_dataset_back_without_using_an_attempt(
    settings, store, upload, slow_archive, tmp_path
):
    dataset = upload(_copy(slow_archive, tmp_path), SLOW_IMAGE_SIZE)
    partial = dataset_dir(settings, dataset.id) / "arrays.partial"
    children: list[int] = []

    def should_stop() -> bool:
        if not partial.exists():
            return False
        children.extend(child_pids(os.getpid(), CHILD))
        return True

    handed_back = prepare_next_dataset(settings, store, "w", should_stop)

    assert handed_back is not None and handed_back.status == DatasetStatus.PROCESSING
    assert handed_back.attempts == 0 and handed_back.claimed_by is None
    assert children and all(has_ended(pid) for pid in children)
    assert not partial.exists() and not dataset_arrays_dir(settings, dataset.id).exists()


def test_a_dataset_taken_over_by_another_worker_is_left_to_it(
    settings, store, upload, slow_archive, tmp_path
):
    dataset = upload(_copy(slow_archive, tmp_path), SLOW_IMAGE_SIZE)
    beating = settings.model_copy(
        update={"intervals": settings.intervals.model_copy(update={"heartbeat_seconds": 0.1})}
    )
    outcomes: list[Dataset | None] = []
    first = threading.Thread(
        target=lambda: outcomes.append(prepare_next_dataset(beating, store, "slow"))
    )
    first.start()
    _wait_for((dataset_dir(settings, dataset.id) / "arrays.partial").exists, what="decoding")
    with store._sessions.begin() as session:  # its lease lapsed, and another worker claimed it
        session.execute(update(Dataset).values(claimed_by="other", attempts=2))
    first.join(60)

    assert outcomes[0] is not None and outcomes[0].status == DatasetStatus.PROCESSING
    assert outcomes[0].claimed_by == "other"
    assert not dataset_arrays_dir(settings, dataset.id).exists()
    assert child_pids(os.getpid(), CHILD) == []


def test_a_requested_image_size_is_used(settings, store, upload, make_archive):
    upload(make_archive(["cat", "ship"], train_per_class=5, test_per_class=1), (24, 16))

    prepared = prepare_next_dataset(settings, store, "w")

    assert prepared is not None and prepared.image_shape == [24, 16, 3]
    assert load_dataset_arrays(prepared, settings).x_test.shape == (2, 24, 16, 3)
