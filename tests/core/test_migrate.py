"""The schema comes from Alembic migrations, and databases from before them are upgraded."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import create_engine, inspect, text

from core.datasets.arrays import DatasetArrays
from core.datasets.loading import dataset_dir, load_dataset_arrays
from core.datasets.status import DatasetStatus, require_ready
from core.datasets.store import DatasetStore
from core.db import close_connections, create_db_engine, create_session_factory
from core.job_store import JobStore
from core.migrate import migration_transaction
from core.model_registry import ModelRegistry
from core.model_store import ModelStore
from core.schemas import TrainRequest
from core.settings import Settings
from core.status import JobStatus
from core.tables import Base, Dataset
from tests.core.registry_samples import make_trained_model


@pytest.fixture
def settings(settings_on_each_database):
    return settings_on_each_database


def test_migrations_build_exactly_the_tables_the_code_declares(settings):
    engine = create_db_engine(settings)

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert differences == []


def test_a_database_from_before_migrations_is_upgraded_keeping_its_rows(settings):
    # The first release created its tables with create_all: the 0001 schema, unversioned.
    from alembic import command
    from alembic.config import Config

    from core.migrate import MIGRATIONS

    engine = create_engine(settings.resolved_database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO jobs (id, status, dataset_id, architecture, params, created_at,"
                " updated_at, attempts) VALUES ('old', 'succeeded', 'cifar10', 'seed_cnn', '{}',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
            )
        )
    engine.dispose()

    upgraded = create_db_engine(settings)

    columns = {column["name"] for column in inspect(upgraded).get_columns("jobs")}
    assert "cancel_requested_at" in columns
    with upgraded.connect() as connection:
        assert connection.execute(text("SELECT id, status FROM jobs")).all() == [
            ("old", "succeeded")
        ]


def _database_at(settings, revision: str):
    """A database migrated to `revision` only, and the engine on it (no migration run on
    connect)."""
    from alembic import command
    from alembic.config import Config

    from core.migrate import MIGRATIONS

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return engine


def _insert_models_at_0002(engine, models: list[tuple[str, str, datetime]]) -> None:
    table = sa.table(
        "models",
        *(sa.column(name) for name in ("id", "job_id", "dataset_id", "architecture", "path")),
        sa.column("created_at", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.JSON) for name in ("class_names", "input_shape", "preprocessing")),
        *(sa.column(name, sa.JSON) for name in ("params", "metrics")),
    )
    rows = [
        {
            "id": model_id,
            "job_id": f"job-{model_id}",
            "dataset_id": dataset_id,
            "architecture": "seed_cnn",
            "path": f"/models/{model_id}/model.keras",
            "created_at": created_at,
            "class_names": ["cat", "dog"],
            "input_shape": [32, 32, 3],
            "preprocessing": {},
            "params": {},
            "metrics": {},
        }
        for model_id, dataset_id, created_at in models
    ]
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)


def test_models_from_before_the_registry_become_versions_of_their_datasets(settings):
    engine = _database_at(settings, "0002")
    day = datetime(2026, 5, 1, 12, tzinfo=UTC)
    _insert_models_at_0002(
        engine,
        [
            ("flowers-b", "flowers", day + timedelta(hours=2)),
            ("cifar-c", "cifar10", day + timedelta(hours=3)),  # the newest model overall
            ("flowers-a", "flowers", day + timedelta(hours=1)),
            ("cifar-b", "cifar10", day),  # created together: by id
            ("cifar-a", "cifar10", day),
        ],
    )
    engine.dispose()

    sessions = create_session_factory(settings)

    registry, models = ModelRegistry(sessions), ModelStore(sessions)
    versions = {m.id: (m.name, m.version) for m in models.list_models(limit=10)[0]}
    assert versions == {
        "cifar-a": ("cifar10", 1),
        "cifar-b": ("cifar10", 2),
        "cifar-c": ("cifar10", 3),
        "flowers-a": ("flowers", 1),
        "flowers-b": ("flowers", 2),
    }
    assert registry.aliases_of("cifar10") == {"production": 3}
    assert registry.aliases_of("flowers") == {"production": 2}
    moves, total = registry.alias_history("flowers")
    assert total == 1
    assert (moves[0].alias, moves[0].old_version, moves[0].new_version) == ("production", None, 2)
    assert moves[0].reason == "set at upgrade" and moves[0].job_id is None
    # What /predict without a model answered with, it still answers with.
    assert registry.default_name() == "cifar10"
    default = registry.default_model()
    assert default is not None and default.id == models.list_models(limit=1)[0][0].id == "cifar-c"
    # Numbering goes on where the upgrade left it.
    assert registry.add_version(make_trained_model("flowers"), "flowers").version == 3


def test_an_empty_database_upgrades_to_an_empty_registry(settings):
    _database_at(settings, "0002").dispose()

    registry = ModelRegistry(create_session_factory(settings))

    assert registry.default_name() is None
    assert registry.default_model() is None


def test_jobs_from_before_promotion_read_without_one_and_the_migration_reverses(settings):
    from alembic import command
    from alembic.config import Config

    from core.migrate import MIGRATIONS

    engine = _database_at(settings, "0003")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, status, dataset_id, architecture, params, created_at,"
                " updated_at, attempts) VALUES ('old', 'succeeded', 'flowers', 'seed_cnn',"
                ' \'{"dataset": "flowers"}\', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)'
            )
        )
    engine.dispose()

    sessions = create_session_factory(settings)  # upgrades to the head
    jobs = JobStore(sessions)
    old = jobs.get_job("old")
    assert (old.promotion, old.warning) == (None, None)
    new = jobs.create_job(TrainRequest.model_validate({}).resolve(seed=1))
    record = {"promoted": False, "reason": "at chance", "candidate": {}, "incumbent": None}
    jobs.finish_job(
        new.id,
        JobStatus.SUCCEEDED,
        model_id="m",
        test_accuracy=0.1,
        test_loss=2.3,
        promotion=record,
        warning="at chance",
    )
    finished = jobs.get_job(new.id)
    assert (finished.promotion, finished.warning) == (record, "at chance")
    close_connections(sessions)

    engine = create_engine(settings.resolved_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    columns = {column["name"] for column in inspect(engine).get_columns("jobs")}
    assert {"promotion", "warning"}.isdisjoint(columns)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id FROM jobs ORDER BY id")).scalars().all()
    assert sorted(rows) == sorted(["old", new.id])
    engine.dispose()


def _insert_dataset_at_0004(engine, dataset_id: str) -> None:
    table = sa.table(
        "datasets",
        *(sa.column(name) for name in ("id", "name", "kind", "test_split", "source_filename")),
        sa.column("created_at", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.JSON) for name in ("class_names", "image_shape", "class_counts")),
        *(sa.column(name, sa.Integer) for name in ("train_count", "test_count")),
    )
    row = {
        "id": dataset_id,
        "name": "flowers",
        "kind": "image_folder",
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
        "class_names": ["daisy", "rose"],
        "image_shape": [4, 4, 3],
        "train_count": 3,
        "test_count": 2,
        "class_counts": {"train": {"daisy": 2, "rose": 1}, "test": {"daisy": 1, "rose": 1}},
        "test_split": "archive",
        "source_filename": "flowers.tar.gz",
    }
    with engine.begin() as connection:
        connection.execute(table.insert(), [row])


def test_datasets_from_before_preparation_are_ready_and_train_from_converted_arrays(settings):
    from alembic import command
    from alembic.config import Config

    from core.migrate import MIGRATIONS

    engine = _database_at(settings, "0004")
    _insert_dataset_at_0004(engine, "old")
    engine.dispose()
    saved_before = DatasetArrays(
        np.full((3, 4, 4, 3), 5, dtype=np.uint8),
        np.array([0, 0, 1], dtype=np.int32),
        np.zeros((2, 4, 4, 3), dtype=np.uint8),
        np.array([0, 1], dtype=np.int32),
        ["daisy", "rose"],
    )
    dataset_dir(settings, "old").mkdir(parents=True)
    saved_before.save_npz(dataset_dir(settings, "old") / "arrays.npz")

    sessions = create_session_factory(settings)  # upgrades to the head
    datasets = DatasetStore(sessions)
    old = datasets.get_dataset("old")
    require_ready(old)  # jobs may train on it
    arrays = load_dataset_arrays(old, settings)
    processing = datasets.add_dataset(
        Dataset(id="new", name="new", kind="image_folder", status=DatasetStatus.PROCESSING)
    )
    close_connections(sessions)

    assert (old.status, old.attempts, old.claimed_by, old.problems) == ("ready", 0, None, None)
    assert old.class_names == ["daisy", "rose"] and old.train_count == 3
    assert isinstance(arrays.x_train, np.memmap) and (arrays.x_train == 5).all()
    assert arrays.y_train.tolist() == [0, 0, 1] and arrays.class_names == ["daisy", "rose"]
    assert processing.class_names is None and processing.train_count is None

    engine = create_engine(settings.resolved_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    columns = {column["name"] for column in inspect(engine).get_columns("datasets")}
    assert {"status", "progress", "problems", "claimed_by", "attempts"}.isdisjoint(columns)
    with engine.connect() as connection:
        # A dataset not ready has nothing the schema before needs: it is left out.
        assert connection.execute(text("SELECT id FROM datasets")).scalars().all() == ["old"]
    engine.dispose()


def test_sqlite_migrations_may_rebuild_tables_that_other_tables_reference(tmp_path):
    # Batch mode rebuilds a table by dropping it: with foreign keys on, that would delete a
    # job's epochs in cascade and be refused for a model that an alias points at.
    settings = Settings(data_dir=tmp_path / "var", start_worker=False, _env_file=None)
    sessions = create_session_factory(settings)
    jobs, registry = JobStore(sessions), ModelRegistry(sessions)
    job = jobs.create_job(TrainRequest.model_validate({}).resolve(seed=1))
    jobs.record_epoch(job.id, {"epoch": 1, "seconds": 1.0}, {})
    registry.add_version(make_trained_model("cifar10"), "cifar10")
    registry.set_alias("cifar10", "production", 1, "by hand")
    engine = sessions.kw["bind"]

    with engine.connect() as connection, migration_transaction(connection):
        operations = Operations(MigrationContext.configure(connection))
        for table in ("jobs", "models"):
            with operations.batch_alter_table(table, recreate="always"):
                pass

    assert len(jobs.get_job(job.id).history) == 1
    assert registry.aliases_of("cifar10") == {"production": 1}
    with engine.connect() as connection:  # and foreign keys are on again
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
