"""dataset preparation: uploads are decoded by workers in the background

Datasets gain a status (`processing`, `ready`, `failed`), their progress, the problems that make
one unusable and the lease of the worker preparing one; what only decoding tells (classes, image
shape, counts) is empty until a dataset is ready. Every existing dataset was decoded at upload:
each becomes `ready`. Their arrays, one .npz each, become a folder of .npy files the first time
a job loads them (core/datasets/loading.py), not here: a migration that rewrote gigabytes would
hold every process that starts meanwhile.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 01:30:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Known only once a dataset is ready.
DECODED_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("class_names", sa.JSON()),
    ("image_shape", sa.JSON()),
    ("train_count", sa.Integer()),
    ("test_count", sa.Integer()),
    ("class_counts", sa.JSON()),
    ("test_split", sa.String(length=32)),
]

datasets = sa.table("datasets", sa.column("status", sa.String), sa.column("attempts", sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("requested_image_size", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("error_message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("problems", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
    op.execute(datasets.update().values(status="ready", attempts=0))
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("attempts", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_datasets_status"), ["status"], unique=False)
        for name, column_type in DECODED_COLUMNS:
            batch_op.alter_column(name, existing_type=column_type, nullable=True)


def downgrade() -> None:
    # Datasets not ready have none of what the schema before requires: they are forgotten
    # (their folders, archive included, stay on disk).
    op.execute(datasets.delete().where(datasets.c.status != "ready"))
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        for name, column_type in DECODED_COLUMNS:
            batch_op.alter_column(name, existing_type=column_type, nullable=False)
        batch_op.drop_index(batch_op.f("ix_datasets_status"))
        for name in (
            "attempts",
            "heartbeat_at",
            "claimed_by",
            "problems",
            "error_message",
            "progress",
            "requested_image_size",
            "status",
        ):
            batch_op.drop_column(name)
