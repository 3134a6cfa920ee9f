"""The schema comes from Alembic migrations, and databases from before them are upgraded."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.db import create_db_engine
from core.tables import Base


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
