"""The database tables: jobs, their per-epoch history, trained models, the model registry (names,
versions, aliases and their moves) and datasets."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, also on SQLite, which forgets the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    dataset_id: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    # Set when a user cancels a running job; its worker stops at the next batch boundary.
    cancel_requested_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[dict[str, Any] | None]
    devices: Mapped[list[Any] | None]
    replicas: Mapped[int | None]
    runtime: Mapped[dict[str, Any] | None]
    error_type: Mapped[str | None] = mapped_column(String(200))
    error_message: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str | None] = mapped_column(String(32))
    test_accuracy: Mapped[float | None] = mapped_column(Float)
    test_loss: Mapped[float | None] = mapped_column(Float)
    # Whether its model took production, and why (core/promotion.py's record).
    promotion: Mapped[dict[str, Any] | None]
    # Why its model may not be fit to serve, as on the model's record.
    warning: Mapped[str | None] = mapped_column(Text)

    history: Mapped[list["JobEpoch"]] = relationship(
        order_by="JobEpoch.epoch", lazy="selectin", cascade="all, delete-orphan"
    )


class JobEpoch(Base):
    """One finished epoch of a job; the primary key keeps each epoch once."""

    __tablename__ = "job_epochs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    loss: Mapped[float | None] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)
    val_loss: Mapped[float | None] = mapped_column(Float)
    val_accuracy: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)


class TrainedModel(Base):
    """A trained model, which is also one version of a named model (core/model_registry.py)."""

    __tablename__ = "models"
    # Its leading column also serves the look-ups by name.
    __table_args__ = (UniqueConstraint("name", "version", name="uq_models_name_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(
        String(64), ForeignKey("model_names.name", name="fk_models_name")
    )
    version: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset_id: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    path: Mapped[str] = mapped_column(Text)
    class_names: Mapped[list[Any]]
    input_shape: Mapped[list[Any]]
    preprocessing: Mapped[dict[str, Any]]
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    # Why the model may not be fit to serve, e.g. a test accuracy close to chance.
    warning: Mapped[str | None] = mapped_column(Text)


class RegisteredModel(Base):
    """A named model, e.g. `cifar10`: its trained models are its versions 1, 2, 3..."""

    __tablename__ = "model_names"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # The last version number handed out: numbers of deleted versions are never given again.
    last_version: Mapped[int] = mapped_column(Integer, default=0)


class ModelAlias(Base):
    """An alias of a named model (`production`, `staging`...) and the version it points at."""

    __tablename__ = "model_aliases"
    # A version that an alias points at cannot be deleted.
    __table_args__ = (
        ForeignKeyConstraint(
            ["name", "version"],
            ["models.name", "models.version"],
            name="fk_model_aliases_version",
        ),
    )

    name: Mapped[str] = mapped_column(
        String(64), ForeignKey("model_names.name", name="fk_model_aliases_name"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class AliasMove(Base):
    """One move of an alias, kept for good: no foreign keys, so it outlives the versions."""

    __tablename__ = "alias_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    alias: Mapped[str] = mapped_column(String(64))
    old_version: Mapped[int | None] = mapped_column(Integer)  # None: the alias was not set
    new_version: Mapped[int | None] = mapped_column(Integer)  # None: the alias was removed
    reason: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(32))  # the job whose promotion moved it
    moved_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)


class RegistryDefaults(Base):
    """The registry's one row of service-wide choices: the named model `/predict` uses when
    a request names none."""

    __tablename__ = "registry_defaults"
    __table_args__ = (CheckConstraint("id = 1", name="ck_registry_defaults_one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    default_name: Mapped[str] = mapped_column(
        String(64), ForeignKey("model_names.name", name="fk_registry_defaults_name")
    )


class Dataset(Base):
    """A dataset: built in, or uploaded and prepared by a worker (core/datasets/preparation.py).
    What its images are (classes, shape, counts) is known once it is ready."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    # core/datasets/status.py's DatasetStatus.
    status: Mapped[str] = mapped_column(String(16), index=True)
    class_names: Mapped[list[Any] | None]
    image_shape: Mapped[list[Any] | None]
    train_count: Mapped[int | None] = mapped_column(Integer)
    test_count: Mapped[int | None] = mapped_column(Integer)
    class_counts: Mapped[dict[str, Any] | None]
    test_split: Mapped[str | None] = mapped_column(String(32))
    source_filename: Mapped[str | None] = mapped_column(Text)
    # The (height, width) the upload asked its images to be resized to, if it asked.
    requested_image_size: Mapped[list[Any] | None]
    # {"done": images decoded, "total": images in the archive, None until it is listed}
    progress: Mapped[dict[str, Any] | None]
    # Why a failed dataset is unusable: a message, and the problems it lists.
    error_message: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[list[Any] | None]
    # The lease of the worker preparing it: who, when it last heartbeat, how many have tried.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
