"""The process that trains one job: `python -m worker.training_process LIFELINE_FD`.

The worker starts one before it has a job for it, so that importing TensorFlow overlaps its
wait (worker/training_processes.py), and a fresh one for each job: what training takes (the
model, its batches, the allocators' pools) goes back to the system when the job ends, so an idle
worker is as small after a job as before it; and a crash in training (the out-of-memory killer,
a fault in native code) ends this process, never the worker, which records it.

Its standard input is its channel from the worker: one JSON line (the settings, the worker's
id and the claimed job's id), then nothing until the worker closes it to stop the job, which
goes back to the queue at its next batch, as on a SIGTERM. End-of-file before any line: not
needed, it exits. Once the worker is gone (the lifeline cut: core/lifeline.py) it stops the
same way, and exits hard if still running after a grace period.
"""

from models.backend import apply_tensorflow_defaults

apply_tensorflow_defaults()  # before the imports below import Keras

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from functools import partial  # noqa: E402

from core.lifeline import hold_lifeline  # noqa: E402
from core.logs import configure_logging  # noqa: E402
from core.settings import Settings  # noqa: E402
from worker.job_run import run_claimed_job  # noqa: E402
from worker.lifeline import EXIT_GRACE_SECONDS  # noqa: E402
from worker.stopping import StopRequest  # noqa: E402


def main(lifeline: int) -> None:
    stop = StopRequest("training process")
    stop.install()  # a signal sent to every process of the service stops the job as well
    hold_lifeline(
        lifeline,
        partial(stop.request, "the worker that started this training process is gone"),
        EXIT_GRACE_SECONDS,
    )
    line = sys.stdin.readline()
    if line:
        request = json.loads(line)
        settings = Settings.model_validate(request["settings"])
        configure_logging(settings.log_level, "worker")
        threading.Thread(target=_stop_once_input_ends, args=(stop,), daemon=True).start()
        run_claimed_job(settings, request["job_id"], request["worker_id"], stop)
    # The outcome is recorded: nothing is left to tear down, and collecting the objects
    # TensorFlow made, as the interpreter would on its way out, only delays the next job.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _stop_once_input_ends(stop: StopRequest) -> None:
    sys.stdin.read()  # the worker writes nothing more: this returns once it closes its end
    stop.request("the worker asks its training process to stop")


if __name__ == "__main__":
    main(int(sys.argv[1]))
