"""The worker's end of its lifeline (core/lifeline.py): once the app that supervises it is gone,
it stops as on a first SIGTERM, and exits hard if it has not ended after a grace period."""

import os
import threading
from collections.abc import Callable
from functools import partial

from core.lifeline import LIFELINE_FD, hold_lifeline
from worker.stopping import StopRequest

# As long as the app gives its worker between SIGTERM and SIGKILL (app/supervisor.py).
# A worker stuck past it (a batch that never ends) exits hard: its job is reclaimed once its
# heartbeat lapses.
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
    app_gone = partial(stop.request, "the app that supervises this worker is gone")
    return hold_lifeline(lifeline, app_gone, grace_seconds, hard_exit)
