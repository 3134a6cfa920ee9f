"""The service's configuration: one class, read from the environment (or `.env`).

The settings a user sets are flat (`MAX_UPLOAD_BYTES`); the tuning knobs are grouped, each group
a nested model read from `<GROUP>__<NAME>` (`PREDICTION__MAX_BATCH`), and documented apart, in
docs/performance.md.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.tuning import Intervals, PredictionTuning

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

MiB = 1024 * 1024

# Between a group's name and a setting's in the environment: `INTERVALS__HEARTBEAT_SECONDS`.
NESTED_DELIMITER = "__"

Role = Literal["admin", "predict"]
ROLES = ("admin", "predict")


class Settings(BaseSettings):
    # Errors never echo a value: API keys and database passwords are among them.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_nested_delimiter=NESTED_DELIMITER,
        extra="ignore",
        hide_input_in_errors=True,
    )

    data_dir: Path = Field(
        Path("var"), description="Folder for the database, datasets, models and caches."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the job store; default: a SQLite file in DATA_DIR."
    )
    host: str = Field(
        "127.0.0.1",
        description="Address the HTTP server binds to; without API_KEYS, always 127.0.0.1.",
    )
    port: int = Field(8000, description="Port the HTTP server listens on.")
    public_url: str | None = Field(
        None,
        description="The service's address as its clients reach it (`https://ml.example.com`), "
        "which the job URLs it answers with start with; none: they are relative (`/jobs/<id>`).",
    )
    api_keys: Annotated[dict[str, Role], NoDecode] = Field(
        default_factory=dict,
        description="API keys and their roles, as `key:admin,key:predict`; admin keys may do "
        "everything, predict keys may predict and read. None: no authentication.",
    )
    start_worker: bool = Field(
        True, description="Start and supervise a training worker process inside the app."
    )
    api_processes: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes that answer HTTP requests, each with its own copy of the loaded "
        "models; more pay where one process's Python is the limit (a GPU with many CPU cores).",
    )
    cpu_replicas: int = Field(
        0,
        ge=0,
        le=64,
        description="On machines without GPUs, split the CPU into this many logical devices "
        "so MirroredStrategy trains with that many replicas (0: one CPU device).",
    )
    max_upload_bytes: int = Field(
        10 * MiB, gt=0, description="Largest image upload accepted by /predict, in bytes."
    )
    max_dataset_upload_bytes: int = Field(
        2048 * MiB, gt=0, description="Largest dataset archive accepted by /datasets, in bytes."
    )
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="Largest image (width x height) the service decodes."
    )
    max_predict_pixels: int = Field(
        25_000_000,
        gt=0,
        description="Most pixels (width x height) the images of one prediction request may have "
        "in all, so each one too; MAX_IMAGE_PIXELS also applies.",
    )
    max_archive_files: int = Field(
        1_000_000, gt=0, description="Most files a dataset archive may hold."
    )
    max_archive_unpacked_bytes: int = Field(
        8192 * MiB, gt=0, description="Most bytes a dataset archive may unpack to."
    )
    # Each entry is held in memory whole while it is decoded; an image worth training on (sized
    # down to MAX_DATASET_IMAGE_SIDE anyway) takes a few MiB at most, so 64 MiB leaves room.
    max_archive_file_bytes: int = Field(
        64 * MiB,
        gt=0,
        description="Largest file a dataset archive may hold, unpacked, in bytes; larger "
        "entries are refused unread.",
    )
    max_dataset_image_side: int = Field(
        512, gt=0, description="Largest side, in pixels, that dataset images are resized to."
    )
    heartbeat_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="A running job, or a dataset being prepared, whose heartbeat is older than "
        "this is reclaimed.",
    )
    max_job_attempts: int = Field(
        3, ge=1, description="How many times a job is started before it is marked failed."
    )
    max_preparation_attempts: int = Field(
        3,
        ge=1,
        description="How many times an uploaded dataset's preparation is started (a crash or "
        "a lost worker ends one) before the dataset is marked failed.",
    )
    preparation_stall_seconds: float = Field(
        600.0,
        gt=0,
        description="A dataset preparation that reports no progress for this long (a decoder "
        "that hangs) is stopped, and counts as a crash.",
    )
    max_event_streams: int = Field(
        100,
        ge=1,
        description="Most job event streams open at once in each serving process; more are "
        "refused with 429.",
    )
    max_event_streams_per_client: int = Field(
        20,
        ge=1,
        description="Most job event streams open at once in each serving process for one "
        "client: one API key, or, without API_KEYS, one address.",
    )
    prediction: PredictionTuning = Field(
        default_factory=PredictionTuning,
        description="Tuning of predictions' batches and threads (docs/performance.md).",
    )
    intervals: Intervals = Field(
        default_factory=Intervals,
        description="How often the service's loops wake (docs/performance.md).",
    )
    model_cache_size: int = Field(
        4,
        ge=1,
        description="How many trained models the app keeps loaded in memory; the default "
        "(newest) model is never unloaded to make room.",
    )
    cifar10_url: str = Field(
        CIFAR10_URL, description="Where the built-in cifar10 dataset is downloaded from."
    )
    log_level: str = Field("INFO", description="Lowest level of log records written.")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        keys: dict[str, str] = {}
        for entry in filter(None, (part.strip() for part in value.split(","))):
            key, separator, role = entry.rpartition(":")
            # Never echo a key back in an error message.
            if not separator or not key or role not in ROLES or any(c.isspace() for c in key):
                raise ValueError(
                    f"API_KEYS entry {len(keys) + 1} is not `key:admin` or `key:predict`."
                )
            keys[key] = role
        return keys

    @field_validator("public_url")
    @classmethod
    def _http_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_URL must start with http:// or https://.")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'service.db'}"

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def job_dir(self, job_id: str) -> Path:
        """A job's own files: its checkpoints and log."""
        return self.jobs_dir / job_id

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def xla_cache_dir(self) -> Path:
        return self.cache_dir / "xla"


class InvalidSettings(ValueError):
    """Settings refused, named as the environment variables that set them."""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise InvalidSettings(_describe_errors(error)) from None


def _describe_errors(error: ValidationError) -> str:
    # Pydantic names `intervals.heartbeat_seconds`; the user set INTERVALS__HEARTBEAT_SECONDS.
    # Only the messages, never the values: hide_input_in_errors keeps them out of these too.
    problems = [
        f"{NESTED_DELIMITER.join(map(str, problem['loc'])).upper()}: {problem['msg']}"
        for problem in error.errors(include_input=False, include_url=False)
    ]
    return "Invalid settings:\n" + "\n".join(f"  {problem}" for problem in problems)
