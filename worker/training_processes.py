"""The worker's side of its training processes (worker/training_process.py): one is started
ahead of each job, given the job once it is claimed, and followed until it ends; a process that
ends without recording how its job ended has crashed, and the job is tried again or failed."""

import contextlib
import json
import logging
import os
import subprocess
import sys

from core.exits import describe_exit
from core.job_store import JobStore
from core.logs import job_log_file, job_logger
from core.settings import Settings
from core.status import JobStatus
from core.tables import Job
from worker.stopping import StopRequest

log = logging.getLogger("worker")

MODULE = "worker.training_process"
POLL_SECONDS = 0.2
# How long a process that is not needed may take to notice so, before it is killed.
DISCARD_GRACE_SECONDS = 5.0


class TrainingProcessCrashed(Exception):
    """A job's training process ended without recording how the job ended, too many times."""


class TrainingProcess:
    """A fresh interpreter that trains one job; started before the job is known."""

    def __init__(self) -> None:
        read_end, self._lifeline = os.pipe()  # neither end is inherited by other children
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", MODULE, str(read_end)],
                stdin=subprocess.PIPE,
                text=True,
                pass_fds=[read_end],
                # Out of the terminal's process group: on Ctrl-C the worker stops it, once.
                start_new_session=True,
            )
        except BaseException:
            os.close(self._lifeline)
            raise
        finally:
            os.close(read_end)  # the child's own now

    @property
    def pid(self) -> int:
        return self._process.pid

    def train(self, settings: Settings, job_id: str, worker_id: str) -> None:
        request = {
            "settings": settings.model_dump(mode="json"),
            "job_id": job_id,
            "worker_id": worker_id,
        }
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()

    def stop(self) -> None:
        """Ask the job to stop at its next batch and go back to the queue."""
        assert self._process.stdin is not None
        if not self._process.stdin.closed:
            self._process.stdin.close()

    def wait(self, seconds: float) -> int | None:
        """The exit status, once it has ended within `seconds`; else None."""
        try:
            return self._process.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def wait_until_ended(self) -> int:
        """The exit status, once it has ended; a signal's handler may interrupt the wait."""
        return self._process.wait()

    def end(self, grace_seconds: float = DISCARD_GRACE_SECONDS) -> None:
        """End it, killed if still running after `grace_seconds`, and release its lifeline."""
        self.stop()
        if self.wait(grace_seconds) is None:
            self._process.kill()
            self._process.wait()
        os.close(self._lifeline)


def train_in_process(
    job: Job,
    process: TrainingProcess,
    settings: Settings,
    jobs: JobStore,
    worker_id: str,
    stop: StopRequest,
) -> None:
    """Have `process` train the claimed `job`, pass it a stop request, and once it has ended,
    record its crash if it left the job running."""
    # A broken pipe: it has ended already (it could not start, say), recorded below as a crash.
    with contextlib.suppress(BrokenPipeError):
        process.train(settings, job.id, worker_id)
    try:
        code = _follow(process, stop)
    except BaseException:
        # A second signal, say, which stops at once: the job is reclaimed once its heartbeat
        # lapses.
        process.end(grace_seconds=0)
        raise
    process.end()
    current = jobs.get_job(job.id)
    if current.status == JobStatus.RUNNING and current.worker_id == worker_id:
        with job_log_file(settings.job_dir(job.id), "worker"):
            _record_crash(job, describe_exit(code), settings, jobs, worker_id)


def _follow(process: TrainingProcess, stop: StopRequest) -> int:
    """Wait for the process to end, passing it a stop request as soon as one comes."""
    while not stop.wait(POLL_SECONDS):
        if (code := process.wait(0)) is not None:
            return code
    process.stop()
    return process.wait_until_ended()


def _record_crash(job: Job, how: str, settings: Settings, jobs: JobStore, worker_id: str) -> None:
    job_log = job_logger("worker", job.id)
    extra = {"attempt": job.attempts, "ended": how}
    if job.attempts < settings.max_job_attempts:
        jobs.requeue_job(job.id, worker_id, attempt_used=True)
        job_log.error(
            "the job's training process crashed; the job goes back to the queue, to resume "
            "from its last checkpoint",
            extra=extra,
        )
        return
    crashed = TrainingProcessCrashed(
        f"The job's training process crashed (attempt {job.attempts} of "
        f"{settings.max_job_attempts}: {how}); it is not started again."
    )
    jobs.finish_job(job.id, JobStatus.FAILED, error=crashed, worker_id=worker_id)
    job_log.error("the job's training process crashed; the job is not started again", extra=extra)
