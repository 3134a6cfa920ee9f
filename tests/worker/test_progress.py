import time

import pytest

from core.job_store import JobStore
from worker.progress import ProgressReporter


class CountingJobStore(JobStore):
    """The real store, counting progress writes."""

    progress_writes = 0

    def record_progress(self, job_id, progress):
        self.progress_writes += 1
        super().record_progress(job_id, progress)


@pytest.fixture
def started(sessions, make_job):
    """A 2-epoch job of 100 steps each, its reporter at the start of epoch 1."""
    store = CountingJobStore(sessions)
    job = make_job(epochs=2)
    reporter = ProgressReporter(store, job.id, epochs=2, batch_size=10, interval=60)
    reporter.set_params({"steps": 100, "epochs": 2})
    reporter.on_train_begin()
    reporter.on_epoch_begin(0)
    return store, job, reporter


def test_progress_writes_are_throttled_within_an_epoch(started):
    store, _, reporter = started

    for batch in range(100):
        reporter.on_train_batch_end(batch)

    assert store.progress_writes == 2  # training start, then the first batch; the rest wait


def test_epoch_end_always_records_history_and_progress(started):
    store, job, reporter = started
    time.sleep(0.01)
    reporter.on_train_batch_end(49)

    reporter.on_epoch_end(0, {"loss": 1.5, "accuracy": 0.4, "val_loss": 1.6, "val_accuracy": 0.35})

    stored = store.get_job(job.id)
    assert [(e.epoch, e.loss, e.val_accuracy) for e in stored.history] == [(1, 1.5, 0.35)]
    progress = stored.progress
    assert (progress["epoch"], progress["step"], progress["steps"]) == (1, 100, 100)
    assert progress["fraction"] == 0.5
    assert progress["images_per_second"] > 0 and progress["eta_seconds"] > 0


def test_non_finite_metrics_are_stored_as_missing(started):
    store, job, reporter = started

    reporter.on_epoch_end(0, {"loss": float("nan"), "accuracy": 0.1})

    (epoch,) = store.get_job(job.id).history
    assert epoch.loss is None and epoch.accuracy == 0.1
