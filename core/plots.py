"""Pictures, as PNG bytes: a job's training curves and a model's confusion matrix.

Drawn on a matplotlib `Figure` of its own, never through pyplot, whose global state the
app's threads would share. matplotlib is imported on the first picture, not when the app
starts, as TensorFlow is on the first prediction.
"""

from collections.abc import Sequence
from io import BytesIO
from typing import TYPE_CHECKING

import numpy as np

from core.errors import ConflictError
from core.schemas import EpochMetrics
from core.tables import Job, TrainedModel

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
# Past this many classes, counts no longer fit in their cells; the colours still tell.
MAX_CLASSES_WITH_COUNTS = 30


def job_curves_png(job: Job) -> bytes:
    """The job's curves so far; a conflict until its first epoch is over."""
    if not job.history:
        raise ConflictError(
            f"Job {job.id!r} has no finished epoch yet: its curves start after the first one."
        )
    history = [EpochMetrics.model_validate(epoch) for epoch in job.history]
    name = f"{job.name} (job {job.id})" if job.name else f"Job {job.id}"
    return training_curves_png(history, f"{name}\n{job.architecture} on {job.dataset_id}")


def model_confusion_png(model: TrainedModel) -> bytes:
    """The model's confusion matrix on its test split; a conflict for a model saved without."""
    confusion = model.metrics.get("confusion_matrix")
    if confusion is None:
        raise ConflictError(
            f"Model {model.id!r} has no confusion matrix: it was saved before models recorded "
            "one. Train it again to get one."
        )
    accuracy = model.metrics.get("test_accuracy")
    scored = f", test accuracy {accuracy:.1%}" if accuracy is not None else ""
    title = f"Model {model.id}\n{model.architecture} on {model.dataset_id}{scored}"
    return confusion_matrix_png(confusion, model.class_names, title)


def training_curves_png(history: Sequence[EpochMetrics], title: str) -> bytes:
    """Loss and accuracy per epoch, train and validation, side by side."""
    figure = _new_figure(11, 4.2)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    epochs = [epoch.epoch for epoch in history]
    for axes, metric in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
        _plot_series(axes, epochs, [getattr(e, metric) for e in history], "train")
        _plot_series(axes, epochs, [getattr(e, f"val_{metric}") for e in history], "validation")
        _label_epoch_axes(axes, metric.capitalize(), epochs)
    figure.suptitle(title)
    return _png(figure)


def confusion_matrix_png(
    confusion: Sequence[Sequence[int]], class_names: Sequence[str], title: str
) -> bytes:
    """Counts of test images by true (rows) and predicted (columns) class; each cell's colour
    is its share of the true class, so a small class reads as clearly as a large one."""
    counts = np.asarray(confusion, dtype=np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    shares = counts / np.maximum(totals, 1)
    side = min(18.0, 3.0 + 0.6 * len(class_names))
    figure = _new_figure(side + 1.5, side)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="Share of the true class", shrink=0.8)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(ticks, class_names)
    axes.set_xlabel("Predicted class")
    axes.set_ylabel("True class")
    if len(class_names) <= MAX_CLASSES_WITH_COUNTS:
        for (row, column), count in np.ndenumerate(counts):
            dark = shares[row, column] > 0.5
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=9 if len(class_names) <= 12 else 7,
                color="white" if dark else "black",
            )
    axes.set_title(title)
    return _png(figure)


def _plot_series(axes: "Axes", epochs: list[int], values: list[float | None], label: str) -> None:
    # A missing value (no validation data) leaves a gap rather than failing.
    series = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    axes.plot(epochs, series, marker="o" if len(epochs) <= 40 else None, markersize=4, label=label)


def _label_epoch_axes(axes: "Axes", metric: str, epochs: list[int]) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_title(metric)
    axes.set_xlabel("Epoch")
    axes.set_ylabel(metric)
    # Room around the epochs drawn, so that even one epoch gets an integer tick of its own.
    margin = max(0.5, 0.03 * (epochs[-1] - epochs[0]))
    axes.set_xlim(epochs[0] - margin, epochs[-1] + margin)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axes.grid(alpha=0.3)
    axes.legend()


def _new_figure(width: float, height: float) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(figure: "Figure") -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
