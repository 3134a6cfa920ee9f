import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.datasets.builtin import BUILTIN_DATASETS
from core.datasets.store import DatasetStore
from core.tables import Dataset


@pytest.fixture
def settings(settings_on_each_database):
    return settings_on_each_database


def test_a_process_that_loses_the_race_to_record_the_builtin_datasets_starts_anyway(
    sessions, monkeypatch: pytest.MonkeyPatch
):
    """Workers and the app starting together each record the built-in datasets; one that
    looked before another's insert, and inserts after it, must not crash."""
    DatasetStore(sessions).ensure_builtin_datasets()  # the process that won
    # The loser's look comes before the winner's insert: it sees no record.
    monkeypatch.setattr(Session, "get", lambda self, *args, **kwargs: None)

    DatasetStore(sessions).ensure_builtin_datasets()

    monkeypatch.undo()
    with sessions() as session:
        for builtin in BUILTIN_DATASETS:
            count = select(func.count()).select_from(Dataset).where(Dataset.id == builtin.id)
            assert session.scalar(count) == 1
