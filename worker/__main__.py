"""`python -m worker`: run a training worker until stopped."""

import argparse
import logging

from core.logs import configure_logging
from core.retired_settings import retired_settings_given
from core.settings import get_settings
from worker.lifeline import watch_lifeline
from worker.loop import run_worker
from worker.stopping import StopRequest


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
    run_worker(settings, stop, burst=args.burst, max_jobs=args.max_jobs)


if __name__ == "__main__":
    main()
