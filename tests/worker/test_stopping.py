"""Stopping a worker: on a signal, and when the app that supervises it is gone."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from core.lifeline import LIFELINE_FD
from tests.integration.running import start_module
from worker.lifeline import watch_lifeline
from worker.stopping import StopRequest


def _start_worker(tmp_path: Path, pass_fds: tuple[int, ...] = (), **env: str):
    log = tmp_path / "worker.log"
    environment = {**os.environ, "DATA_DIR": str(tmp_path / "var"), "CPU_REPLICAS": "2", **env}
    return start_module("worker", environment, log, pass_fds), log


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while '"worker ready"' not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the worker did not start within 120 s"
        time.sleep(0.1)


@pytest.mark.slow
def test_sigterm_stops_an_idle_worker_and_says_so(tmp_path):
    worker, log = _start_worker(tmp_path)
    try:
        _wait_until_ready(worker, log)
        worker.send_signal(signal.SIGTERM)
        returncode = worker.wait(timeout=60)
    finally:
        worker.kill()

    assert returncode == 0
    assert "stop requested; no job is running, so the worker exits" in log.read_text()


@pytest.mark.slow
def test_a_worker_whose_app_is_gone_stops_and_says_so(tmp_path):
    read_end, write_end = os.pipe()
    worker, log = _start_worker(tmp_path, pass_fds=(read_end,), **{LIFELINE_FD: str(read_end)})
    os.close(read_end)
    try:
        _wait_until_ready(worker, log)
        os.close(write_end)  # as the kernel does when the app's process ends, however it ends
        returncode = worker.wait(timeout=60)
    finally:
        worker.kill()

    assert returncode == 0
    assert (
        "the app that supervises this worker is gone; no job is running, so the worker exits"
        in log.read_text()
    )


def test_a_stop_request_says_what_becomes_of_the_running_job(caplog):
    idle, busy = StopRequest(), StopRequest()
    with caplog.at_level("INFO", logger="worker"):
        idle.request("stop requested")
        with busy.running("job-1"):
            busy.request("stop requested")

    idle_record, busy_record = caplog.records
    assert idle_record.getMessage() == "stop requested; no job is running, so the worker exits"
    assert busy_record.getMessage() == (
        "stop requested; the running job goes back to the queue at its next batch, "
        "then the worker exits"
    )
    assert busy_record.job_id == "job-1"
    assert idle.is_set() and busy.is_set()


def test_a_standalone_worker_watches_no_lifeline(monkeypatch):
    monkeypatch.delenv(LIFELINE_FD, raising=False)
    stop = StopRequest()

    assert watch_lifeline(stop) is None
    assert not stop.is_set()


def test_a_worker_still_running_after_the_grace_period_exits_hard(monkeypatch, caplog):
    read_end, write_end = os.pipe()
    monkeypatch.setenv(LIFELINE_FD, str(read_end))
    stop = StopRequest()
    exits: list[int] = []

    watcher = watch_lifeline(stop, grace_seconds=0.1, hard_exit=exits.append)
    assert watcher is not None
    watcher.join(0.3)
    assert watcher.is_alive() and not stop.is_set()  # nothing happens while the app lives
    with caplog.at_level("INFO", logger="worker"):
        os.close(write_end)
        watcher.join(10)

    assert stop.is_set() and exits == [1]
    assert "this process did not stop within its grace period; exiting now" in caplog.messages
