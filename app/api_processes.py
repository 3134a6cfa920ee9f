"""Serving from several processes (`API_PROCESSES` > 1).

Uvicorn's process manager runs that many copies of the app on one listening socket, and
replaces any that dies. This process stays their parent: it supervises the one training worker
for all of them, and gives them one folder for their metrics, which `/metrics` adds up. They
end once it is gone, however it ended, rather than serve on as orphans holding its port.
"""

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from app.supervisor import WorkerSupervisor
from core.lifeline import hold_lifeline
from core.settings import Settings

log = logging.getLogger("app.api_processes")

# Set for the serving processes: the parent supervises the worker, so they must not start one.
WORKER_SUPERVISED_BY_PARENT = "WORKER_SUPERVISED_BY_PARENT"
# prometheus_client's own variable: every process's metrics go to files in that folder.
METRICS_FOLDER = "PROMETHEUS_MULTIPROC_DIR"
# How long a new serving process may take to be ready when SIGHUP replaces them one at a time:
# uvicorn's 5 s is shorter than importing Keras and loading a model, which it does first.
READY_TIMEOUT_SECONDS = 180
# How long a serving process whose parent is gone may take to finish its open requests.
ORPHAN_GRACE_SECONDS = 30.0


def worker_supervised_by_parent() -> bool:
    return os.environ.get(WORKER_SUPERVISED_BY_PARENT) == "1"


def end_with_parent(
    grace_seconds: float = ORPHAN_GRACE_SECONDS, hard_exit: Callable[[int], object] = os._exit
) -> threading.Thread | None:
    """In a serving process that uvicorn's manager started: once the manager is gone, however it
    ended, stop as on the SIGTERM it would have sent. A server with no manager (API_PROCESSES=1,
    a user's own single-process `uvicorn` command) has no parent process in multiprocessing's
    sense, and is left alone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return None
    # multiprocessing's sentinel: a pipe whose write end only the parent holds (core/lifeline.py).
    return hold_lifeline(
        parent.sentinel, lambda: _stop_orphan(parent.pid), grace_seconds, hard_exit
    )


def _stop_orphan(parent_pid: int | None) -> None:
    log.warning(
        "the process manager that started this serving process is gone; shutting down",
        extra={"parent_pid": parent_pid},
    )
    # Through the server's own handler: uvicorn's graceful shutdown and app/shutdown.py's run.
    os.kill(os.getpid(), signal.SIGTERM)


def serve_in_processes(config: uvicorn.Config, settings: Settings) -> None:
    with _metrics_folder(), _supervised_worker(settings):
        if settings.start_worker:
            os.environ[WORKER_SUPERVISED_BY_PARENT] = "1"
        manager = _ServingProcesses(config, sockets=[config.bind_socket()])
        manager.run()
    # A process that failed before it served (a database it cannot reach) would fail again on
    # every restart: uvicorn's manager stopped, and the service says so with its exit status.
    if any(process.exitcode == STARTUP_FAILURE for process in manager.processes):
        sys.exit(STARTUP_FAILURE)


class _ServingProcesses(Multiprocess):
    def restart_all(self) -> None:
        # Uvicorn uses one timeout for both a ping, which must stay short (a process that dies
        # while pinged is only noticed once it lapses), and a replacement's start: lengthen it
        # for the replacements only. Pings wait meanwhile, as this runs on the manager's loop.
        ping_timeout = self.config.timeout_worker_healthcheck
        self.config.timeout_worker_healthcheck = READY_TIMEOUT_SECONDS
        try:
            super().restart_all()
        finally:
            self.config.timeout_worker_healthcheck = ping_timeout


@contextmanager
def _metrics_folder() -> Iterator[None]:
    given = os.environ.get(METRICS_FOLDER)
    if given:
        # Files left by an earlier run would be counted again (prometheus_client's docs).
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    with tempfile.TemporaryDirectory(prefix="api-metrics-") as folder:
        os.environ[METRICS_FOLDER] = folder
        yield


@contextmanager
def _supervised_worker(settings: Settings) -> Iterator[None]:
    """The training worker, supervised on an event loop of its own beside uvicorn's manager,
    which holds the main thread; stopped once every serving process has stopped."""
    if not settings.start_worker:
        yield
        return
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="worker-supervisor", daemon=True)
    thread.start()
    supervisor = WorkerSupervisor(settings)
    loop.call_soon_threadsafe(supervisor.start)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(supervisor.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
