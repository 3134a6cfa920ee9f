"""Preparing uploaded datasets: a worker claims the oldest waiting one, decodes it in a child
process, and records how that ended.

The child (preparation_child.py) decodes into `arrays.partial/`, renamed to `arrays/` once
complete; meanwhile the worker's thread heartbeats its lease, with the progress the child
reports. An attempt cut short (the child crashed, or the worker died and its lease lapsed)
starts again from the kept archive, from scratch; after MAX_PREPARATION_ATTEMPTS attempts the
dataset fails. A worker that stops hands the dataset back without using up an attempt.
"""

import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import IO, Any

from core.datasets.loading import dataset_arrays_dir, source_archive_path
from core.datasets.status import DatasetStatus
from core.datasets.store import DatasetStore
from core.db import close_connections, create_session_factory
from core.exits import describe_exit
from core.server_paths import without_server_paths
from core.settings import Settings
from core.tables import Dataset

CHILD_MODULE = "core.datasets.preparation_child"
# How often the thread that follows a child wakes, to see whether it must stop it.
POLL_SECONDS = 0.25
# Between SIGTERM and SIGKILL for a child that must stop: it holds nothing worth waiting for.
KILL_GRACE_SECONDS = 5.0

log = logging.getLogger("core.datasets.preparation")


class _Ended(Enum):
    STOPPED = "stopped"  # the worker is stopping: handed back
    LOST = "lost"  # another worker took the dataset over
    STALLED = "stalled"  # no progress for PREPARATION_STALL_SECONDS: stopped, as a crash


def prepare_next_dataset(
    settings: Settings,
    store: DatasetStore | None = None,
    worker_id: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Dataset | None:
    """Claim the oldest dataset waiting to be prepared and prepare it; its record as that
    left it (ready, failed, or processing again after a crash), or None if none was waiting."""
    if store is None:
        sessions = create_session_factory(settings)
        try:
            return prepare_next_dataset(settings, DatasetStore(sessions), worker_id, should_stop)
        finally:
            close_connections(sessions)
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    dataset = store.claim_next_dataset(
        worker_id, settings.heartbeat_timeout_seconds, settings.max_preparation_attempts
    )
    if dataset is None:
        return None
    log.info("dataset preparation started", extra=_about(dataset))
    arrays = dataset_arrays_dir(settings, dataset.id)
    partial = arrays.with_name(f"{arrays.name}.partial")
    for leftover in (partial, arrays):  # an earlier attempt's: start from scratch
        shutil.rmtree(leftover, ignore_errors=True)
    child = _start_child(dataset, settings, partial)
    try:
        ended = _follow(child, dataset, settings, store, worker_id, should_stop)
    finally:
        os.close(child.lifeline)
    _record(ended, child, dataset, arrays, settings, store, worker_id)
    shutil.rmtree(partial, ignore_errors=True)
    return store.get_dataset(dataset.id)


def _record(
    ended: _Ended | None,
    child: "_Child",
    dataset: Dataset,
    arrays: Path,
    settings: Settings,
    store: DatasetStore,
    worker_id: str,
) -> None:
    """Record how the attempt ended, in the one way that fits."""
    if ended is _Ended.STOPPED:
        store.release_dataset(dataset.id, worker_id, attempt_used=False)
        log.info("dataset handed back: the worker is stopping", extra=_about(dataset))
    elif ended is _Ended.LOST:
        log.warning("dataset taken over by another worker; this one stops", extra=_about(dataset))
    elif "ready" in child.outcome:
        _record_ready(child.outcome["ready"], dataset, child.folder, arrays, store, worker_id)
    elif "failed" in child.outcome:
        failed = child.outcome["failed"]
        # Users see it: a reader's error may name the archive's path on this server.
        error = without_server_paths(failed["error"], settings.data_dir)
        outcome = {"error_message": error, "problems": failed["problems"]}
        store.finish_dataset(dataset.id, DatasetStatus.FAILED, worker_id, **outcome)
        log.info("dataset failed", extra={**_about(dataset), "error": error})
    elif ended is _Ended.STALLED:
        how = f"no progress for {settings.preparation_stall_seconds:g} s"
        _record_crash(how, dataset, settings, store, worker_id)
    else:
        _record_crash(describe_exit(child.process.returncode), dataset, settings, store, worker_id)


def _record_ready(
    ready: dict[str, Any],
    dataset: Dataset,
    partial: Path,
    arrays: Path,
    store: DatasetStore,
    worker_id: str,
) -> None:
    # Renamed only while the dataset is still this worker's to prepare.
    if not store.heartbeat_dataset(dataset.id, worker_id):
        log.warning("dataset taken over by another worker; this one stops", extra=_about(dataset))
        return
    partial.rename(arrays)
    total = ready["train_count"] + ready["test_count"]
    progress = {"done": total, "total": total}
    store.finish_dataset(dataset.id, DatasetStatus.READY, worker_id, progress=progress, **ready)
    log.info("dataset ready", extra={**_about(dataset), "images": total})


def _about(dataset: Dataset) -> dict[str, Any]:
    return {"dataset_id": dataset.id, "attempt": dataset.attempts}


class _Child:
    """A child process preparing a dataset, and what it said."""

    def __init__(self, process: subprocess.Popen[str], lifeline: int, folder: Path) -> None:
        self.process = process
        self.lifeline = lifeline  # the write end, held until the child has ended
        self.folder = folder  # where it writes the arrays
        self.progress: dict[str, Any] = {}
        self.outcome: dict[str, Any] = {}
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(
            target=_read_messages, args=(process.stdout, self.messages), daemon=True
        ).start()

    def end(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _start_child(dataset: Dataset, settings: Settings, folder: Path) -> _Child:
    read_end, write_end = os.pipe()  # its lifeline: neither end is inherited by other children
    request = {
        "archive": str(source_archive_path(settings, dataset.id, dataset.source_filename or "")),
        "folder": str(folder),
        "limits": {
            "max_files": settings.max_archive_files,
            "max_unpacked_bytes": settings.max_archive_unpacked_bytes,
            "max_file_bytes": settings.max_archive_file_bytes,
        },
        "max_pixels": settings.max_image_pixels,
        "max_side": settings.max_dataset_image_side,
        "image_size": dataset.requested_image_size,
        "lifeline_fd": read_end,
    }
    try:
        process = subprocess.Popen(
            child_command(request),
            stdout=subprocess.PIPE,
            text=True,
            pass_fds=[read_end],
            # Out of the terminal's process group: Ctrl-C would end it as a crash, using up an
            # attempt; the worker hands the dataset back instead.
            start_new_session=True,
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)  # the child's own now
    return _Child(process, write_end, folder)


def child_command(request: dict[str, Any]) -> list[str]:
    """A fresh interpreter, never a fork of the worker's, which holds TensorFlow."""
    return [sys.executable, "-m", CHILD_MODULE, json.dumps(request)]


def _read_messages(stream: IO[str], messages: "queue.Queue[dict[str, Any] | None]") -> None:
    for line in stream:
        try:
            messages.put(json.loads(line))
        except ValueError:
            continue  # not the child's: a library printing something
    messages.put(None)


def _follow(
    child: _Child,
    dataset: Dataset,
    settings: Settings,
    store: DatasetStore,
    worker_id: str,
    should_stop: Callable[[], bool],
) -> _Ended | None:
    """Heartbeat the lease with the child's progress until it ends; None once it has ended on
    its own, else why it was stopped."""
    last_heartbeat = last_progress = time.monotonic()
    while True:
        try:
            message = child.messages.get(timeout=POLL_SECONDS)
        except queue.Empty:
            message = {}
        if message is None:
            child.process.wait()
            return None
        if "progress" in message:
            child.progress = message["progress"]
            last_progress = time.monotonic()
        if "ready" in message or "failed" in message:
            child.outcome = message
        # A child that has told its outcome has done the work: it is recorded, not handed back.
        if not child.outcome and should_stop():
            child.end()
            return _Ended.STOPPED
        if not child.outcome and (
            time.monotonic() - last_progress > settings.preparation_stall_seconds
        ):
            child.end()
            return _Ended.STALLED
        due = time.monotonic() - last_heartbeat >= settings.intervals.heartbeat_seconds
        if "progress" in message or due:
            try:
                owned = store.heartbeat_dataset(dataset.id, worker_id, child.progress or None)
            except Exception:  # a busy database must not stop the child; the next round retries
                continue
            if not owned:
                child.end()
                return _Ended.LOST
            last_heartbeat = time.monotonic()


def _record_crash(
    how: str, dataset: Dataset, settings: Settings, store: DatasetStore, worker_id: str
) -> None:
    """A child that ended without an outcome (or was stopped for want of progress): tried again,
    unless its attempts are used up."""
    extra = {**_about(dataset), "ended": how}
    if dataset.attempts < settings.max_preparation_attempts:
        store.release_dataset(dataset.id, worker_id, attempt_used=True)
        log.warning("dataset preparation crashed; it is tried again", extra=extra)
        return
    store.finish_dataset(
        dataset.id,
        DatasetStatus.FAILED,
        worker_id,
        error_message=f"Its preparation crashed (attempt {dataset.attempts} of "
        f"{settings.max_preparation_attempts}: {how}); it is not tried again.",
    )
    log.error("dataset preparation crashed; it is not tried again", extra=extra)
