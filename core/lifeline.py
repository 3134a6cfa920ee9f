"""Lifelines: a child process ends once the parent that manages it is gone, however the parent
ended (`kill -9` included).

A lifeline is the read end of a pipe whose write end only the parent holds, and never writes to:
reading it returns end-of-file once no process holds the write end any more, and the kernel
closes it when the parent's process ends. The training worker's is a pipe the app makes for it
(app/supervisor.py, worker/lifeline.py); a serving process's is the one multiprocessing gives
every process it starts, its parent's sentinel (app/api_processes.py). (PR_SET_PDEATHSIG
would not do: it fires when the *thread* that started the child ends, and with API_PROCESSES > 1
the app starts its worker from a thread of its own.)
"""

import logging
import os
import threading
import time
from collections.abc import Callable

# The environment variable that gives a supervised worker the number of its end of the pipe;
# a standalone worker (`python -m worker`) has none.
LIFELINE_FD = "WORKER_LIFELINE_FD"

log = logging.getLogger("core.lifeline")


def hold_lifeline(
    lifeline: int,
    stop: Callable[[], object],
    grace_seconds: float,
    hard_exit: Callable[[int], object] = os._exit,
) -> threading.Thread:
    """Call `stop` once the lifeline is cut, from a thread of its own; exit hard if this process
    has not ended `grace_seconds` later."""
    thread = threading.Thread(
        target=_stop_once_cut,
        args=(lifeline, stop, grace_seconds, hard_exit),
        name="lifeline",
        daemon=True,  # a process that ends otherwise does not wait for it
    )
    thread.start()
    return thread


def _stop_once_cut(
    lifeline: int,
    stop: Callable[[], object],
    grace_seconds: float,
    hard_exit: Callable[[int], object],
) -> None:
    # Left open: a serving process's lifeline is multiprocessing's, which may still poll it.
    while os.read(lifeline, 64):  # the parent writes nothing: a read returns only at end-of-file
        pass
    stop()
    time.sleep(grace_seconds)
    # Stuck somewhere (a batch or a request that never ends): better gone than an orphan.
    log.error(
        "this process did not stop within its grace period; exiting now",
        extra={"grace_seconds": grace_seconds},
    )
    hard_exit(1)
