"""The tuning knobs, in groups: settings a user rarely touches, each group read from
`<GROUP>__<NAME>` (core/settings.py) and documented in docs/performance.md."""

from pydantic import BaseModel, Field


class PredictionTuning(BaseModel):
    """How predictions are batched and threaded: `PREDICTION__<NAME>`."""

    batch_window_ms: float = Field(
        2.0,
        ge=0,
        le=1000,
        description="How long a prediction waits for others to share its batch, in milliseconds "
        "(only while requests come together).",
    )
    max_batch: int = Field(
        64, ge=1, le=4096, description="Most images run through a model in one batch."
    )
    batches_in_flight: int = Field(
        2,
        ge=1,
        le=64,
        description="How many batches of one model run at once, each on a thread of its own: "
        "while one runs, the next full batch is gathered and started.",
    )
    decode_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Threads that decode uploaded images; default: 2 (1 on a machine with one "
        "CPU).",
    )
    intra_op_threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="TensorFlow's threads for the work within one operation, in each serving "
        "process; default: the CPUs shared out among the batches in flight, on a machine "
        "without a GPU (TensorFlow's own choice with one).",
    )
    inter_op_threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="TensorFlow's threads for running operations side by side, in each serving "
        "process; default: 1 on a machine without a GPU (TensorFlow's own choice with one).",
    )


class Intervals(BaseModel):
    """How often the service's loops wake: `INTERVALS__<NAME>`."""

    worker_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle worker looks for queued jobs."
    )
    heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often a worker records that it is alive while training."
    )
    job_watch_seconds: float = Field(
        0.5,
        gt=0,
        description="How often a training job's watcher wakes, to look for a cancel request and "
        "to heartbeat when one is due.",
    )
    progress_seconds: float = Field(
        0.5, gt=0, description="Least time between two progress writes within an epoch."
    )
    events_poll_seconds: float = Field(
        0.25,
        gt=0,
        le=60,
        description="How often a job's event stream looks for news of the job.",
    )
    model_poll_seconds: float = Field(
        2.0, gt=0, description="How often the app looks for a new production version to load."
    )
