from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import InvalidSettings, Settings, get_settings
from core.tuning import Intervals, PredictionTuning

SECRET_KEY = "sk-never-in-an-error"


@pytest.fixture
def fresh_settings(monkeypatch, tmp_path: Path) -> Iterator[None]:
    """get_settings() reads the environment again, and forgets what it read afterwards; away
    from any `.env` of the checkout's."""
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_tuning_settings_are_read_from_the_environment_by_group(monkeypatch):
    monkeypatch.setenv("PREDICTION__MAX_BATCH", "8")
    monkeypatch.setenv("PREDICTION__DECODE_THREADS", "3")
    monkeypatch.setenv("INTERVALS__HEARTBEAT_SECONDS", "0.5")
    monkeypatch.setenv("INTERVALS__JOB_WATCH_SECONDS", "0.1")

    settings = Settings(_env_file=None)

    assert settings.prediction == PredictionTuning(max_batch=8, decode_threads=3)
    assert settings.intervals == Intervals(heartbeat_seconds=0.5, job_watch_seconds=0.1)


def test_tuning_settings_are_read_from_a_dotenv_file(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("PREDICTION__BATCH_WINDOW_MS=5\nINTERVALS__PROGRESS_SECONDS=2\nPORT=9000\n")

    settings = Settings(_env_file=dotenv)

    assert settings.prediction.batch_window_ms == 5
    assert settings.intervals.progress_seconds == 2
    assert settings.port == 9000


def test_tuning_settings_keep_their_defaults_unless_set():
    settings = Settings(_env_file=None)

    assert settings.prediction == PredictionTuning()
    assert settings.intervals == Intervals()
    assert (settings.prediction.max_batch, settings.intervals.job_watch_seconds) == (64, 0.5)


@pytest.mark.parametrize("prediction", [{"max_batch": 8}, PredictionTuning(max_batch=8)])
def test_a_group_is_given_in_code_as_a_dict_or_as_its_model(prediction):
    settings = Settings(_env_file=None, prediction=prediction)

    assert settings.prediction.max_batch == 8
    assert settings.prediction.batches_in_flight == 2


def test_a_wrong_tuning_value_is_refused_naming_its_variable(monkeypatch, fresh_settings):
    monkeypatch.setenv("INTERVALS__HEARTBEAT_SECONDS", "-1")
    monkeypatch.setenv("PREDICTION__MAX_BATCH", "many")

    with pytest.raises(InvalidSettings) as raised:
        get_settings()

    message = str(raised.value)
    assert "INTERVALS__HEARTBEAT_SECONDS: Input should be greater than 0" in message
    assert "PREDICTION__MAX_BATCH: Input should be a valid integer" in message
    assert "many" not in message


def test_a_wrong_flat_value_is_refused_naming_its_variable(monkeypatch, fresh_settings):
    monkeypatch.setenv("MAX_JOB_ATTEMPTS", "0")

    with pytest.raises(InvalidSettings, match="MAX_JOB_ATTEMPTS: Input should be greater"):
        get_settings()


@pytest.mark.parametrize(
    "environment",
    [
        {"API_KEYS": f"{SECRET_KEY}:admin", "INTERVALS__HEARTBEAT_SECONDS": "soon"},
        {"API_KEYS": f"{SECRET_KEY}:owner"},
    ],
)
def test_errors_never_show_an_api_key(monkeypatch, fresh_settings, environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError) as pydantic_error:
        Settings(_env_file=None)
    with pytest.raises(InvalidSettings) as ours:
        get_settings()

    assert SECRET_KEY not in str(pydantic_error.value)
    assert SECRET_KEY not in str(ours.value)
