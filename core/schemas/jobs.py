"""Jobs as the API shows them: status, progress, history, runtime, outcome and log."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.schemas.training import TrainParams
from core.status import JobStatus


class Progress(BaseModel):
    epoch: int = Field(description="Epoch under way, from 1.")
    epochs: int
    step: int = Field(description="Batches done in this epoch.")
    steps: int | None = Field(description="Batches in one epoch.")
    fraction: float = Field(description="Share of the whole job done, 0 to 1.")
    images_per_second: float | None = None
    eta_seconds: float | None = Field(None, description="Estimated seconds until training ends.")


class EpochMetrics(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    epoch: int
    loss: float | None
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


class Runtime(BaseModel):
    backend: str = Field(description="Keras backend: `tensorflow` or `jax`.")
    dtype_policy: str = Field(description="`float32`, `mixed_bfloat16` or `mixed_float16`.")
    jit_compile: bool | str
    steps_per_execution: int
    batch_size: int | None = Field(
        None,
        description="Global batch trained: the one asked for, rounded up to divide over "
        "the replicas.",
    )
    compile_seconds: float = Field(description="Tracing and compiling the train and test steps.")
    training_seconds: float = Field(description="Training and validation, compiling excluded.")
    images_per_second: float | None = Field(
        description="Training images per second, compiling excluded (none if no epoch was left)."
    )
    resumed_from_epoch: int = Field(
        0, description="Epochs restored from a checkpoint when the job's last attempt began."
    )


class JobError(BaseModel):
    type: str
    message: str


class JobPublic(BaseModel):
    id: str
    name: str | None
    status: JobStatus
    url: str = Field(
        description="Where to follow the job: under PUBLIC_URL, else relative (`/jobs/<id>`)."
    )
    dataset: str
    model: str = Field(description="Network architecture.")
    params: TrainParams
    progress: Progress | None
    history: list[EpochMetrics]
    devices: list[str] | None = Field(description="Devices MirroredStrategy trained on.")
    replicas: int | None
    runtime: Runtime | None = Field(
        description="How the job ran: backend, precision, compilation, and its timings."
    )
    attempts: int = Field(
        description="Times a worker started the job; a worker that stops cleanly gives it back."
    )
    cancel_requested_at: datetime | None = Field(
        description="When a user asked to cancel it; it stops at the next batch boundary."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    error: JobError | None
    model_id: str | None = Field(description="The trained model, once the job succeeded.")
    test_accuracy: float | None
    test_loss: float | None
    promotion: dict[str, Any] | None = Field(
        description="Whether its model took its name's `production` alias, and why: "
        "`promoted`, `reason`, `candidate` and `incumbent` (production before; null if none)."
    )
    warning: str | None = Field(
        description="Why its model may not be fit to serve, e.g. a test accuracy at chance."
    )


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int = Field(description="Jobs matching the filter, over all pages.")
    limit: int
    offset: int


class JobLogPublic(BaseModel):
    data: list[dict[str, Any]] = Field(
        description="Log records, oldest first: time, level, logger, message and details."
    )
    count: int = Field(description="Records in the job's log in all.")
    offset: int
