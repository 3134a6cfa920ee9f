"""A setting given under a name the service no longer reads is named, with its new name."""

from core.retired_settings import RETIRED_SETTINGS, retired_settings_given
from core.settings import NESTED_DELIMITER, Settings


def test_an_old_name_in_the_environment_or_env_file_is_named_with_its_new_one(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("CANCEL_POLL_SECONDS=0.2\nLOG_LEVEL=DEBUG\n")

    warnings = retired_settings_given({"PREDICT_MAX_BATCH": "8", "PORT": "8001"}, env_file)

    assert warnings == [
        "PREDICT_MAX_BATCH is no longer read: set PREDICTION__MAX_BATCH instead.",
        "CANCEL_POLL_SECONDS is no longer read: set INTERVALS__JOB_WATCH_SECONDS instead.",
    ]


def test_current_names_are_not_retired(tmp_path):
    assert retired_settings_given({"PREDICTION__MAX_BATCH": "8"}, tmp_path / "missing") == []


def test_every_new_name_is_a_setting():
    settings = Settings()
    for new in filter(None, RETIRED_SETTINGS.values()):
        group, field = new.lower().split(NESTED_DELIMITER)
        assert hasattr(getattr(settings, group), field), new
