import os
from unittest import mock

from app.supervisor import worker_environment
from core.settings import Settings
from core.tuning import Intervals, PredictionTuning


def test_the_worker_reads_the_apps_tuning_settings_from_its_environment(settings):
    settings = settings.model_copy(
        update={
            "prediction": PredictionTuning(max_batch=8, decode_threads=3),
            "intervals": Intervals(heartbeat_seconds=0.5, job_watch_seconds=0.1),
        }
    )
    environment = worker_environment(settings)

    with mock.patch.dict(os.environ, environment, clear=True):
        worker_settings = Settings(_env_file=None)

    assert environment["INTERVALS__HEARTBEAT_SECONDS"] == "0.5"
    assert worker_settings.prediction == settings.prediction
    assert worker_settings.intervals == settings.intervals
