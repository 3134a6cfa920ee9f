"""The life cycle of an uploaded dataset, and the refusal to train on one that is not ready."""

from enum import StrEnum

from core.errors import DatasetNotReadyError
from core.tables import Dataset

MAX_PROBLEMS_QUOTED = 3


class DatasetStatus(StrEnum):
    PROCESSING = "processing"  # uploaded; a worker checks and decodes its images
    READY = "ready"  # decoded: jobs may train on it
    FAILED = "failed"  # unusable (`error`, `problems`), or its preparation kept stopping


def require_ready(dataset: Dataset) -> None:
    """Raise DatasetNotReadyError, saying why and what to do, unless jobs may train on it."""
    if dataset.status == DatasetStatus.READY:
        return
    if dataset.status == DatasetStatus.PROCESSING:
        progress = dataset.progress or {}
        if progress.get("total") is None:
            done = "its archive is being listed"
        else:
            done = f"{progress['done']} of {progress['total']} images decoded"
        raise DatasetNotReadyError(
            f"Dataset {dataset.id!r} is still being prepared ({done}); train on it once its "
            f"status is ready (GET /datasets/{dataset.id})."
        )
    problems = dataset.problems or []
    quoted = "; ".join(problems[:MAX_PROBLEMS_QUOTED])
    if len(problems) > MAX_PROBLEMS_QUOTED:
        quoted += f"; and {len(problems) - MAX_PROBLEMS_QUOTED} more"
    raise DatasetNotReadyError(
        f"Dataset {dataset.id!r} failed to be prepared, so no job can train on it: "
        f"{dataset.error_message}" + (f" ({quoted})" if quoted else "")
    )
