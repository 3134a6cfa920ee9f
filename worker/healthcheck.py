"""`python -m worker.healthcheck`: exit 0 if this host's worker showed life recently."""

import sys

from core.settings import get_settings
from core.worker_liveness import is_alive


def main() -> None:
    sys.exit(0 if is_alive(get_settings()) else 1)


if __name__ == "__main__":
    main()
