"""model registry: named models with versions and aliases

Every existing model becomes a version of the named model its dataset names (the rule for new
models too), numbered by creation time; each name's newest version becomes its `production`,
and the newest model's name the default, so `/predict` without a model answers as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000
"""

from datetime import UTC, datetime
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE_REASON = "set at upgrade"

# The tables as this revision leaves them, for moving the rows (never the code's tables, which
# later revisions change).
models = sa.table(
    "models",
    sa.column("id", sa.String),
    sa.column("dataset_id", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("name", sa.String),
    sa.column("version", sa.Integer),
)
model_names = sa.table(
    "model_names",
    sa.column("name", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("last_version", sa.Integer),
)
model_aliases = sa.table(
    "model_aliases",
    sa.column("name", sa.String),
    sa.column("alias", sa.String),
    sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
alias_moves = sa.table(
    "alias_moves",
    sa.column("name", sa.String),
    sa.column("alias", sa.String),
    sa.column("old_version", sa.Integer),
    sa.column("new_version", sa.Integer),
    sa.column("reason", sa.Text),
    sa.column("moved_at", sa.DateTime(timezone=True)),
)
registry_defaults = sa.table(
    "registry_defaults", sa.column("id", sa.Integer), sa.column("default_name", sa.String)
)


def upgrade() -> None:
    op.create_table(
        "model_names",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("warning", sa.Text(), nullable=True))

    newest_of_each_name = _number_existing_models()

    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("version", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_models_name_version", ["name", "version"])
        batch_op.create_foreign_key("fk_models_name", "model_names", ["name"], ["name"])

    op.create_table(
        "model_aliases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["name"], ["model_names.name"], name="fk_model_aliases_name"),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["models.name", "models.version"],
            name="fk_model_aliases_version",
        ),
        sa.PrimaryKeyConstraint("name", "alias"),
    )
    op.create_table(
        "alias_moves",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("old_version", sa.Integer(), nullable=True),
        sa.Column("new_version", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alias_moves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alias_moves_moved_at"), ["moved_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alias_moves_name"), ["name"], unique=False)
    op.create_table(
        "registry_defaults",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("default_name", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_registry_defaults_one_row"),
        sa.ForeignKeyConstraint(
            ["default_name"], ["model_names.name"], name="fk_registry_defaults_name"
        ),
        sa.PrimaryKeyConstraint("id"),
    )

    _point_production_and_default(newest_of_each_name)


def _number_existing_models() -> dict[str, int]:
    """Name each model after its dataset and number it within that name by creation time;
    return each name's newest version, newest name last."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(models.c.id, models.c.dataset_id, models.c.created_at).order_by(
            models.c.dataset_id, models.c.created_at, models.c.id
        )
    ).all()
    newest: dict[str, tuple[int, datetime, str]] = {}
    for name, group in groupby(rows, key=lambda row: row.dataset_id):
        versions = list(enumerate(group, start=1))
        first_created = versions[0][1].created_at
        connection.execute(
            model_names.insert().values(
                name=name, created_at=first_created, last_version=len(versions)
            )
        )
        for version, row in versions:
            connection.execute(
                models.update().where(models.c.id == row.id).values(name=name, version=version)
            )
        last = versions[-1][1]
        newest[name] = (len(versions), last.created_at, last.id)
    # The newest model overall is the one `/predict` answered with: its name goes last.
    by_age = sorted(newest.items(), key=lambda item: (item[1][1], item[1][2]))
    return {name: version for name, (version, _, _) in by_age}


def _point_production_and_default(newest_of_each_name: dict[str, int]) -> None:
    if not newest_of_each_name:
        return
    connection = op.get_bind()
    now = datetime.now(UTC)
    for name, version in newest_of_each_name.items():
        connection.execute(
            model_aliases.insert().values(
                name=name, alias="production", version=version, updated_at=now
            )
        )
        connection.execute(
            alias_moves.insert().values(
                name=name,
                alias="production",
                old_version=None,
                new_version=version,
                reason=UPGRADE_REASON,
                moved_at=now,
            )
        )
    default_name = list(newest_of_each_name)[-1]
    connection.execute(registry_defaults.insert().values(id=1, default_name=default_name))


def downgrade() -> None:
    op.drop_table("registry_defaults")
    with op.batch_alter_table("alias_moves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alias_moves_name"))
        batch_op.drop_index(batch_op.f("ix_alias_moves_moved_at"))
    op.drop_table("alias_moves")
    op.drop_table("model_aliases")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_constraint("fk_models_name", type_="foreignkey")
        batch_op.drop_constraint("uq_models_name_version", type_="unique")
        batch_op.drop_column("warning")
        batch_op.drop_column("version")
        batch_op.drop_column("name")
    op.drop_table("model_names")
