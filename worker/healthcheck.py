"""`python -m worker.healthcheck`: exit 0 if this host's worker showed life recently."""

import sys

from core.settings import get_settings
from worker.liveness import is_alive


def main() -> None:
    settings = get_settings()
    # Idle workers touch the file every poll, training ones every heartbeat.
    max_age = 3 * max(settings.worker_poll_seconds, settings.heartbeat_seconds)
    sys.exit(0 if is_alive(settings, max_age) else 1)


if __name__ == "__main__":
    main()
