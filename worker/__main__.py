"""`python -m worker`: run a training worker until stopped."""

import argparse
import gc
import logging

from models.backend import apply_tensorflow_defaults

apply_tensorflow_defaults()  # before the imports below import Keras

from core.logs import configure_logging  # noqa: E402
from core.retired_settings import retired_settings_given  # noqa: E402
from core.settings import get_settings  # noqa: E402
from worker.lifeline import watch_lifeline  # noqa: E402
from worker.loop import StopRequest, run_worker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__)
    parser.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.log_level, "worker")
    for warning in retired_settings_given():
        logging.getLogger("worker").warning(warning)
    stop = StopRequest()
    stop.install()
    watch_lifeline(stop)
    try:
        run_worker(settings, stop, burst=args.burst, max_jobs=args.max_jobs)
    finally:
        # On its way out the interpreter collects garbage again and again, each time over the
        # hundreds of thousands of objects Keras and TensorFlow made; frozen, they are skipped
        # and the worker exits promptly (docs/architecture.md#crash-recovery).
        gc.freeze()


if __name__ == "__main__":
    main()
