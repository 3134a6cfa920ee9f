"""Each job trains in a training process of its own: the worker stays free of TensorFlow, a crash
in training is recorded (and tried again), and a stop request reaches the job."""

import json
import os
import signal
import threading
import time

import pytest

from core.logs import read_job_log
from core.schemas import TrainRequest
from core.status import JobStatus
from devkit.datasets import add_ready_dataset
from devkit.processes import child_pids
from tests.scripts import run_script
from worker import training_processes
from worker.loop import run_worker
from worker.stopping import StopRequest
from worker.training_processes import MODULE, TrainingProcess

pytestmark = pytest.mark.slow

CRASH_LINE = "the job's training process crashed; the job goes back to the queue"


@pytest.fixture
def dataset(settings, sessions, make_archive):
    # Epochs of a second or more: long enough to act in the middle of one.
    archive = make_archive(["airplane", "cat"], train_per_class=200, test_per_class=5)
    return add_ready_dataset(settings, archive, "sample")


def _queue(job_store, dataset_id: str, epochs: int = 2) -> str:
    request = TrainRequest.model_validate(
        {"dataset": dataset_id, "epochs": epochs, "batch_size": 8, "seed": 1}
    )
    return job_store.create_job(request.resolve(seed=0)).id


@pytest.fixture
def training_pids(monkeypatch) -> list[int]:
    """The pids of the training processes given a job, in order."""
    given: list[int] = []
    train = TrainingProcess.train

    def train_and_note(self, settings, job_id, worker_id) -> None:
        given.append(self.pid)
        train(self, settings, job_id, worker_id)

    monkeypatch.setattr(TrainingProcess, "train", train_and_note)
    return given


def _when_training(job_store, job_id: str, training_pids: list[int], action) -> threading.Thread:
    """Run `action` (given the training process's pid) once the job has trained a step."""

    def wait_then_act() -> None:
        deadline = time.monotonic() + 180
        while not (job_store.get_job(job_id).progress or {}).get("step"):
            assert time.monotonic() < deadline, "the job never started training"
            time.sleep(0.05)
        action(training_pids[0])

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def test_a_crashed_training_process_is_recorded_and_the_job_tried_again(
    settings, dataset, job_store, training_pids
):
    job_id = _queue(job_store, dataset.id)
    killer = _when_training(job_store, job_id, training_pids, _kill)

    assert run_worker(settings, burst=True) == 2  # the crashed attempt, then the one that ends
    killer.join()

    job = job_store.get_job(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.attempts == 2  # a crash uses up an attempt, as a lost worker does
    assert [epoch.epoch for epoch in job.history] == [1, 2]
    records, _ = read_job_log(settings.job_dir(job_id), 0, 1000)
    (crash,) = [r for r in records if r["message"].startswith(CRASH_LINE)]
    assert crash["ended"] == "killed by SIGKILL, as by the kernel when memory runs out"
    assert crash["level"] == "ERROR" and crash["job_id"] == job_id
    assert [r["attempt"] for r in records if r["message"] == "job started"] == [1, 2]
    assert child_pids(os.getpid(), MODULE.encode()) == []


def test_a_training_process_that_crashes_every_attempt_fails_the_job(
    settings, dataset, job_store, training_pids
):
    settings = settings.model_copy(update={"max_job_attempts": 1})
    job_id = _queue(job_store, dataset.id)
    killer = _when_training(job_store, job_id, training_pids, _kill)

    run_worker(settings, burst=True)
    killer.join()

    job = job_store.get_job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_type == "TrainingProcessCrashed"
    assert job.error_message == (
        "The job's training process crashed (attempt 1 of 1: killed by SIGKILL, as by the "
        "kernel when memory runs out); it is not started again."
    )


def test_a_training_process_that_cannot_start_fails_the_job_not_the_worker(
    settings, dataset, job_store, monkeypatch
):
    monkeypatch.setattr(training_processes, "MODULE", "worker.no_such_module")
    job_id = _queue(job_store, dataset.id)

    assert run_worker(settings, burst=True) == settings.max_job_attempts

    job = job_store.get_job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_type == "TrainingProcessCrashed"
    assert job.error_message == (
        f"The job's training process crashed (attempt {settings.max_job_attempts} of "
        f"{settings.max_job_attempts}: exit code 1); it is not started again."
    )


def test_a_stop_request_hands_the_training_job_back(settings, dataset, job_store, training_pids):
    job_id = _queue(job_store, dataset.id, epochs=50)
    stop = StopRequest()
    stopper = _when_training(job_store, job_id, training_pids, lambda pid: stop.request("test"))

    # Bounded, were the stop never requested: the job's 50 epochs, and an empty queue after.
    run_worker(settings, stop, max_jobs=1)
    stopper.join()

    job = job_store.get_job(job_id)
    assert job.status == JobStatus.QUEUED and job.worker_id is None
    assert job.attempts == 0  # a clean hand-back uses up no attempt
    records, _ = read_job_log(settings.job_dir(job_id), 0, 1000)
    messages = [r["message"] for r in records]
    assert (
        "the worker asks its training process to stop; the running job goes back to the queue "
        "at its next batch, then the training process exits"
    ) in messages
    assert messages[-1] == "job handed back to the queue; it resumes from its last checkpoint"
    assert child_pids(os.getpid(), MODULE.encode()) == []


# The worker, in a process of its own, trains a job: how its memory and modules compare after
# the job with before, and which processes it has left.
WORKER_AROUND_A_JOB = """
import json, os, sys
from pathlib import Path

from core.settings import Settings
from core.db import create_session_factory
from core.job_store import JobStore
from core.schemas import TrainRequest
from devkit.datasets import add_ready_dataset
from devkit.processes import child_pids, rss_anon
from worker.loop import run_worker

settings = Settings(data_dir=sys.argv[1], start_worker=False, _env_file=None)
jobs = JobStore(create_session_factory(settings))
dataset = add_ready_dataset(settings, Path(sys.argv[2]), "sample")
request = TrainRequest(dataset=dataset.id, epochs=1, batch_size=8, seed=1)
job_id = jobs.create_job(request.resolve(seed=0)).id
before = rss_anon()
run_worker(settings, burst=True)
print(json.dumps({
    "status": jobs.get_job(job_id).status,
    "grown": rss_anon() - before,
    "frameworks": sorted({"keras", "tensorflow", "jax", "torch"} & set(sys.modules)),
    "children": child_pids(os.getpid(), b"worker.training_process"),
}))
"""


def test_the_worker_trains_without_loading_tensorflow_and_leaves_no_process(tmp_path, make_archive):
    archive = make_archive(["airplane", "cat"], train_per_class=20, test_per_class=5)

    result = run_script(WORKER_AROUND_A_JOB, str(tmp_path / "var"), str(archive))

    assert result["status"] == "succeeded"
    assert result["frameworks"] == []
    assert result["children"] == []
    # What training took went with its process: the worker holds its database connections,
    # nothing of the job (a TensorFlow worker held hundreds of megabytes more).
    assert result["grown"] < 64 * 2**20, json.dumps(result)
