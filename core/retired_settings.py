"""Settings that were renamed or removed: a value still given under an old name is ignored, so
the service says so once at start-up rather than leave a user's configuration silently unused."""

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

# Old name -> the name that now sets it (None: it is no longer a setting).
RETIRED_SETTINGS: dict[str, str | None] = {
    "PREDICT_BATCH_WINDOW_MS": "PREDICTION__BATCH_WINDOW_MS",
    "PREDICT_MAX_BATCH": "PREDICTION__MAX_BATCH",
    "PREDICT_BATCHES_IN_FLIGHT": "PREDICTION__BATCHES_IN_FLIGHT",
    "PREDICT_DECODE_THREADS": "PREDICTION__DECODE_THREADS",
    "PREDICT_INTRA_OP_THREADS": "PREDICTION__INTRA_OP_THREADS",
    "PREDICT_INTER_OP_THREADS": "PREDICTION__INTER_OP_THREADS",
    "WORKER_POLL_SECONDS": "INTERVALS__WORKER_POLL_SECONDS",
    "HEARTBEAT_SECONDS": "INTERVALS__HEARTBEAT_SECONDS",
    "CANCEL_POLL_SECONDS": "INTERVALS__JOB_WATCH_SECONDS",
    "PROGRESS_INTERVAL_SECONDS": "INTERVALS__PROGRESS_SECONDS",
    "EVENTS_POLL_SECONDS": "INTERVALS__EVENTS_POLL_SECONDS",
    "MODEL_POLL_SECONDS": "INTERVALS__MODEL_POLL_SECONDS",
    "CIFAR10_SHA256": None,
}


def retired_settings_given(
    environment: Mapping[str, str] = os.environ, env_file: Path = Path(".env")
) -> list[str]:
    """One sentence for each retired setting that the environment or `.env` still gives."""
    given = {name.upper() for name in dotenv_values(env_file)} if env_file.is_file() else set()
    given |= {name.upper() for name in environment}
    return [
        f"{old} is no longer read: set {new} instead."
        if new
        else f"{old} is no longer a setting and is ignored."
        for old, new in RETIRED_SETTINGS.items()
        if old in given
    ]
