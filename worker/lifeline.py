"""The worker's end of its lifeline (core/lifeline.py): once the app that supervises it is gone,
it stops as on a first SIGTERM, and exits hard if it has not ended after a grace period."""

import logging
import os
import threading
import time
from collections.abc import Callable

from core.lifeline import LIFELINE_FD
from worker.loop import StopRequest

log = logging.getLogger("worker")

# As long as the app gives its worker between SIGTERM and SIGKILL (app/supervisor.py).
EXIT_GRACE_SECONDS = 10.0


def watch_lifeline(
    stop: StopRequest,
    grace_seconds: float = EXIT_GRACE_SECONDS,
    hard_exit: Callable[[int], object] = os._exit,
) -> threading.Thread | None:
    """Watch the lifeline on a thread of its own, if an app started this worker: a standalone
    worker has none, and is left alone."""
    given = os.environ.pop(LIFELINE_FD, None)  # not for the processes this one may start
    if given is None:
        return None
    lifeline = int(given)
    os.set_inheritable(lifeline, False)
    thread = threading.Thread(
        target=_stop_once_cut,
        args=(lifeline, stop, grace_seconds, hard_exit),
        name="lifeline",
        daemon=True,  # a worker that ends otherwise does not wait for it
    )
    thread.start()
    return thread


def _stop_once_cut(
    lifeline: int, stop: StopRequest, grace_seconds: float, hard_exit: Callable[[int], object]
) -> None:
    with os.fdopen(lifeline, "rb", buffering=0) as pipe:
        while pipe.read(64):  # the app writes nothing: the read returns only at end-of-file
            pass
    stop.request("the app that supervises this worker is gone")
    time.sleep(grace_seconds)
    # Stuck somewhere (a batch that never ends): its job is reclaimed once its heartbeat lapses.
    log.error(
        "the worker did not stop within its grace period; exiting now",
        extra={"grace_seconds": grace_seconds},
    )
    hard_exit(1)
