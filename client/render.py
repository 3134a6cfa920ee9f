"""Tables and one-line summaries of what the service returns."""

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "queued": "dim",
    "running": "cyan",
    "processing": "cyan",
    "ready": "green",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "yellow",
}
# Ids are copied from these tables whole: narrow terminals squeeze the other columns instead.
UNBROKEN = {"ID"}


def jobs_table(jobs: list[dict[str, Any]], count: int) -> Table:
    columns = ("ID", "Name", "Status", "Dataset", "Model", "Epochs", "Test acc", "Created")
    table = _listing(f"Jobs ({len(jobs)} of {count})", columns)
    for job in jobs:
        epochs = f"{len(job['history'])}/{job['params']['epochs']}"
        table.add_row(
            job["id"],
            Text(job["name"] or ""),
            status_text(job["status"]),
            job["dataset"],
            job["model"],
            epochs,
            _number(job["test_accuracy"]),
            _time(job["created_at"]),
        )
    return table


def job_details(job: dict[str, Any]) -> Table:
    params = job["params"]
    fields = {
        "ID": job["id"],
        "Name": escape(job["name"] or ""),
        "Status": status_text(job["status"]),
        "Dataset": job["dataset"],
        "Model": job["model"],
        "Epochs": params["epochs"],
        "Batch size": params["batch_size"],
        "Optimizer": f"{params['optimizer']}, learning rate {params['learning_rate']}",
        "Seed": params["seed"],
        "Devices": ", ".join(job["devices"] or []),
        "Attempts": job["attempts"],
        "Created": _time(job["created_at"]),
        "Started": _time(job["started_at"]),
        "Finished": _time(job["finished_at"]),
        "Test accuracy": _number(job["test_accuracy"]),
        "Test loss": _number(job["test_loss"]),
        "Trained model": job["model_id"],
    }
    if job.get("promotion"):
        promoted = "promoted" if job["promotion"]["promoted"] else "not promoted"
        fields["Promotion"] = escape(f"{promoted}: {job['promotion']['reason']}")
    if job.get("warning"):
        fields["Warning"] = escape(job["warning"])
    if job["error"]:
        fields["Error"] = escape(f"{job['error']['type']}: {job['error']['message']}")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields.items():
        if value not in (None, ""):
            table.add_row(name, str(value))
    return table


def history_table(history: list[dict[str, Any]]) -> Table:
    table = Table(title="History", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Epoch", "Loss", "Accuracy", "Val loss", "Val accuracy", "Seconds"):
        table.add_column(column, justify="right")
    for epoch in history:
        metrics = ("loss", "accuracy", "val_loss", "val_accuracy")
        values = [_number(epoch[name]) for name in metrics]
        table.add_row(str(epoch["epoch"]), *values, f"{epoch['seconds']:.1f}")
    return table


def models_table(models: list[dict[str, Any]], count: int) -> Table:
    # The name is the dataset's id unless the job named it otherwise (`kts models show`).
    columns = (
        "ID", "Version", "Aliases", "Architecture", "Classes", "Test acc", "Job", "Created",
    )  # fmt: skip
    table = _listing(f"Models ({len(models)} of {count})", columns)
    for model in models:
        table.add_row(
            model["id"],
            f"{model['name']}@{model['version']}",
            ", ".join(model["aliases"]),
            model["architecture"],
            str(len(model["class_names"])),
            _number(model["metrics"].get("test_accuracy"))
            + (" [yellow](at chance)[/]" if model.get("warning") else ""),
            model["job_id"],
            _time(model["created_at"]),
        )
    return table


def alias_move(move: dict[str, Any]) -> str:
    before = f"version {move['old_version']}" if move["old_version"] is not None else "nothing"
    return (
        f"{move['name']}@{move['alias']} now points at version {move['new_version']} "
        f"(was {before}): {escape(move['reason'] or '')}"
    )


def datasets_table(datasets: list[dict[str, Any]], count: int) -> Table:
    columns = ("ID", "Name", "Kind", "Status", "Classes", "Train", "Test", "Image", "Created")
    table = _listing(f"Datasets ({len(datasets)} of {count})", columns)
    for dataset in datasets:
        table.add_row(
            dataset["id"],
            Text(dataset["name"]),
            dataset["kind"],
            dataset_status(dataset),
            Text(_names(dataset["class_names"]) if dataset["class_names"] else ""),
            _count(dataset["train_count"]),
            _count(dataset["test_count"]),
            "x".join(str(side) for side in dataset["image_shape"] or []),
            _time(dataset["created_at"]),
        )
    return table


def dataset_status(dataset: dict[str, Any]) -> str:
    """Its status; while processing, with the images decoded so far."""
    status = dataset["status"]
    progress = dataset.get("progress") or {}
    if status == "processing" and progress.get("total") is not None:
        return f"{status_text(status)} {progress['done']}/{progress['total']}"
    return status_text(status)


def print_dataset_failure(console: Console, dataset: dict[str, Any]) -> None:
    """Why a dataset cannot be used: its error, then each problem on a line of its own."""
    error = dataset.get("error") or "no reason recorded"
    console.print(
        f"Dataset {dataset['id']} [red]failed[/]: " + escape(" ".join(error.split())),
        highlight=False,
    )
    for problem in dataset.get("problems") or []:
        console.print(f"  {escape(problem)}", highlight=False)


def predictions_table(answer: dict[str, Any], names: list[str]) -> Table:
    """Each image's classes; `names` are the paths given, in upload order."""
    table = Table(title=f"Model {answer['model_id']}", title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (("Image", "left"), ("Rank", "right"), ("Label", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    table.add_column("Probability", justify="right")
    for name, result in zip(names, answer["results"], strict=True):
        for rank, prediction in enumerate(result["predictions"], start=1):
            table.add_row(
                Text(name if rank == 1 else ""),
                str(rank),
                Text(prediction["label"]),
                f"{prediction['probability']:.4f}",
                end_section=rank == len(result["predictions"]),
            )
    return table


def print_outcome(console: Console, job: dict[str, Any]) -> None:
    """The test accuracy and model of a job that succeeded, whether it took production and any
    warning; else one line: why it stopped."""
    status = job["status"]
    if status == "succeeded":
        console.print(
            f"Job {job['id']} [green]succeeded[/]: test accuracy {_number(job['test_accuracy'])}"
            f", test loss {_number(job['test_loss'])}; model {job['model_id']}",
            highlight=False,
        )
        if job.get("promotion"):
            console.print(_promotion_line(job), highlight=False)
        if job.get("warning"):
            console.print(f"[yellow]Warning[/]: {escape(job['warning'])}", highlight=False)
    elif status == "failed":
        error = job["error"] or {"type": "Error", "message": "no reason recorded"}
        console.print(
            f"Job {job['id']} [red]failed[/]: "
            + escape(" ".join(f"{error['type']}: {error['message']}".split())),
            highlight=False,
        )
    else:
        done = len(job["history"])
        console.print(
            f"Job {job['id']} {status_text(status)} after {done} epoch(s).", highlight=False
        )


def _promotion_line(job: dict[str, Any]) -> str:
    promotion = job["promotion"]
    version = f"Version {promotion['candidate']['version']} of {job['params']['model_name']}"
    taken = "[green]took production[/]" if promotion["promoted"] else "did not take production"
    return f"{escape(version)} {taken}: {escape(promotion['reason'])}"


def _listing(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in UNBROKEN)
    return table


def status_text(status: str) -> str:
    return f"[{STATUS_STYLES.get(status, '')}]{status}[/]"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _time(iso: str | None) -> str:
    return "" if iso is None else iso[:16].replace("T", " ")


def _names(names: list[str], shown: int = 5) -> str:
    listed = ", ".join(names[:shown])
    return f"{len(names)}: {listed}" + (", ..." if len(names) > shown else "")
