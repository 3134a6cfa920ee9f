"""A serving process ends once the process manager that started it is gone."""

import multiprocessing
import os
import signal
import threading
from types import SimpleNamespace

from app.api_processes import end_with_parent


def test_a_server_with_no_process_manager_watches_nothing():
    assert multiprocessing.parent_process() is None  # as under API_PROCESSES=1
    assert end_with_parent() is None


def test_a_serving_process_whose_manager_is_gone_stops_as_on_sigterm(monkeypatch, caplog):
    read_end, write_end = os.pipe()
    manager = SimpleNamespace(pid=4321, sentinel=read_end)  # multiprocessing's sentinel is a pipe
    monkeypatch.setattr("app.api_processes.multiprocessing.parent_process", lambda: manager)
    terminated = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: terminated.set())
    exits: list[int] = []
    try:
        watcher = end_with_parent(grace_seconds=0.1, hard_exit=exits.append)
        assert watcher is not None
        watcher.join(0.3)
        assert watcher.is_alive() and not terminated.is_set()  # nothing while the manager lives
        os.close(write_end)  # as the kernel does when the manager's process ends
        watcher.join(10)
        assert terminated.wait(10)
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.close(read_end)

    assert exits == [1]  # still running after the grace period: exits hard
    assert (
        "the process manager that started this serving process is gone; shutting down"
        in caplog.messages
    )
