"""The live view of a training job: one progress bar per epoch, with its metrics and ETA."""

from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from client.events import FINAL_STATUSES, JobEvent


class TrainingDisplay:
    """Draws the events of `follow_job`; use it as a context manager around the loop.

    On a terminal each epoch gets a live bar; piped into a file or a CI log, where a live
    display cannot redraw, each finished epoch is one line instead."""

    def __init__(self, console: Console, job_id: str) -> None:
        self.console = console
        self.job_id = job_id
        self._live = console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"),
            TextColumn("{task.fields[note]}"),
            console=console,
            disable=not self._live,
            auto_refresh=False,  # nothing moves between two events: redraw at each
        )
        self._tasks: dict[int, TaskID] = {}
        self._finished: set[int] = set()
        self._epochs: int | None = None
        self._status: str | None = None

    def __enter__(self) -> "TrainingDisplay":
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def show(self, event: JobEvent) -> None:
        if event.type in ("state", "end"):
            self._catch_up(event.data)
        elif event.type == "status":
            self._announce(event.data["status"])
        elif event.type == "progress":
            self._step(event.data["progress"])
        elif event.type == "epoch":
            self._finish_epoch(event.data)
        self._progress.refresh()

    def _catch_up(self, job: dict[str, Any]) -> None:
        """A whole job (the first event of every stream, and the last): draw what was missed."""
        self._epochs = job["params"]["epochs"]
        self._announce(job["status"])
        for metrics in job["history"]:
            self._finish_epoch(metrics)
        if job["status"] == "running" and job["progress"]:
            self._step(job["progress"])

    def _announce(self, status: str) -> None:
        if status != self._status and status not in FINAL_STATUSES:
            self.console.print(f"Job {self.job_id} {status}")
        self._status = status

    def _step(self, progress: dict[str, Any]) -> None:
        self._epochs = progress["epochs"]
        if progress["epoch"] in self._finished:
            return
        note = f"ETA {_duration(progress['eta_seconds'])}" if progress["eta_seconds"] else ""
        if progress.get("images_per_second"):
            note = f"{progress['images_per_second']:.0f} img/s  {note}"
        self._progress.update(
            self._task(progress["epoch"]),
            total=progress["steps"],
            completed=progress["step"],
            note=note,
        )

    def _finish_epoch(self, metrics: dict[str, Any]) -> None:
        epoch = metrics["epoch"]
        if epoch in self._finished:
            return  # a re-sync repeats the history
        self._finished.add(epoch)
        task = self._task(epoch)
        steps = next(t.total for t in self._progress.tasks if t.id == task) or 1
        seconds = f"{metrics['seconds']:.1f} s"
        self._progress.update(
            task, total=steps, completed=steps, metrics=format_metrics(metrics), note=seconds
        )
        if not self._live:
            self.console.print(
                f"{self._describe(epoch)}  {format_metrics(metrics)}  {seconds}", highlight=False
            )

    def _task(self, epoch: int) -> TaskID:
        if epoch not in self._tasks:
            self._tasks[epoch] = self._progress.add_task(
                self._describe(epoch), total=None, metrics="", note=""
            )
        return self._tasks[epoch]

    def _describe(self, epoch: int) -> str:
        return f"Epoch {epoch}/{self._epochs or '?'}"


def format_metrics(metrics: dict[str, Any]) -> str:
    names = (
        ("loss", "loss"),
        ("accuracy", "acc"),
        ("val_loss", "val_loss"),
        ("val_accuracy", "val_acc"),
    )
    return "  ".join(f"{short} {_number(metrics.get(name))}" for name, short in names)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
