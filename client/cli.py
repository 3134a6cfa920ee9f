"""`kts`: train image classifiers on a keras-train-serve service, follow them, and use them."""

from pathlib import Path
from typing import Any

import click

from client import files, logs, render
from client.api import DEFAULT_URL, ServiceClient, ServiceError
from client.arguments import one_line_usage_errors, service_url, training_fields
from client.consoles import err, out
from client.events import follow_job
from client.preparation import follow_preparation
from client.progress import TrainingDisplay

JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]
EXISTING_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ServiceGroup(click.Group):
    """Every command's errors are one line on stderr: refusals and connection failures exit
    with code 1, bad arguments with code 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with one_line_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_usage_errors():
            try:
                return super().invoke(ctx)
            except ServiceError as error:
                raise click.ClickException(str(error)) from None


@click.group(cls=ServiceGroup, context_settings=CONTEXT)
@click.option(
    "--url", envvar="KTS_URL", default=DEFAULT_URL, show_default=True, show_envvar=True,
    callback=service_url, help="The service's base URL.",
)  # fmt: skip
@click.option(
    "--api-key", envvar="KTS_API_KEY", show_envvar=True,
    help="Sent as a bearer token; needed when the service sets API_KEYS.",
)  # fmt: skip
@click.version_option(package_name="keras-train-serve")
@click.pass_context
def main(ctx: click.Context, url: str, api_key: str | None) -> None:
    """Train Keras image classifiers on a keras-train-serve service and use its models."""
    ctx.obj = ctx.with_resource(ServiceClient(url, api_key))


@main.command()
@click.option("--dataset", default="cifar10", show_default=True, help="Dataset id.")
@click.option("--model", help="Network architecture (default: the service's, seed_cnn).")
@click.option("--epochs", type=click.IntRange(1, 1000), help="Passes over the training set.")
@click.option("--batch-size", type=click.IntRange(1), help="Global batch size.")
@click.option("--learning-rate", type=float, help="Peak learning rate.")
@click.option("--optimizer", help="Optimizer name, e.g. sgd or adamw.")
@click.option("--validation-split", type=click.FloatRange(0, 0.5), help="Held-out share.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Random seed.")
@click.option("--name", help="A label for the job.")
@click.option(
    "--set", "extra", multiple=True, metavar="FIELD=VALUE", callback=training_fields,
    help="Any other training field, e.g. --set flip=false --set ema_momentum=0.99 "
    "(values are read as JSON, else as text). See the service's /docs, TrainRequest. "
    "A field with an option of its own (--epochs, --validation-split, ...) is refused: "
    "use the option.",
)  # fmt: skip
@click.option("--wait", is_flag=True, help="Follow the job live until it ends.")
@click.pass_obj
def train(service: ServiceClient, /, extra: dict[str, Any], wait: bool, **fields: Any) -> None:
    """Queue a training job, and follow it with --wait.

    With --wait, each epoch gets a live progress bar with its loss, accuracy and ETA (one
    line per epoch when the output is not a terminal); the command prints the test accuracy
    and model id, and exits 1 unless the job succeeded. A broken connection (the service
    restarting) is reopened, for up to five minutes."""
    job = service.train(**fields, **extra)
    out.print(
        f"Queued job {job['id']}: {job['model']} on {job['dataset']}, "
        f"{job['params']['epochs']} epoch(s), batch size {job['params']['batch_size']}"
    )
    if wait:
        _follow(service, job["id"])


@main.command()
@click.option("--status", type=click.Choice(JOB_STATUSES), help="Only jobs with this status.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.pass_obj
def jobs(service: ServiceClient, status: str | None, limit: int, offset: int) -> None:
    """List training jobs, newest first."""
    page = service.list_jobs(status, limit, offset)
    out.print(render.jobs_table(page["data"], page["count"]))


@main.command()
@click.argument("job_id")
@click.option("--follow", is_flag=True, help="Follow the job live until it ends, as train --wait.")
@click.pass_obj
def job(service: ServiceClient, job_id: str, follow: bool) -> None:
    """Show a job's parameters, outcome and per-epoch history."""
    if follow:
        _follow(service, job_id)
        return
    details = service.get_job(job_id)
    out.print(render.job_details(details))
    if details["history"]:
        out.print(render.history_table(details["history"]))


@main.command()
@click.argument("job_id")
@click.pass_obj
def cancel(service: ServiceClient, job_id: str) -> None:
    """Cancel a job.

    A queued job is cancelled at once; a running one stops at its next batch."""
    job = service.cancel_job(job_id)
    if job["status"] == "running":
        out.print(f"Cancelling job {job_id}: it stops at its next batch.")
    else:
        out.print(f"Job {job_id} {render.status_text(job['status'])}.")


@main.command()
@click.argument("images", nargs=-1, required=True, type=EXISTING_FILE)
@click.option(
    "--top-k", type=click.IntRange(1, 1000), default=5, show_default=True,
    help="Classes to show per image.",
)  # fmt: skip
@click.option(
    "--model-id",
    help="The model to ask: an id, a name, name@alias or name@<version> (default: the "
    "default name's production version).",
)
@click.pass_obj
def predict(
    service: ServiceClient, images: tuple[Path, ...], top_k: int, model_id: str | None
) -> None:
    """The most likely classes of each image (JPEG, PNG, ...)."""
    answer = service.predict(images, model_id, top_k)
    out.print(render.predictions_table(answer, [str(path) for path in images]))


@main.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """List trained models, newest first; or show, promote, roll back, download, export or
    delete one."""
    if ctx.invoked_subcommand is None:
        page = ctx.obj.list_models()
        out.print(render.models_table(page["data"], page["count"]))


@models.command("show")
@click.argument("model_id")
@click.pass_obj
def show_model(service: ServiceClient, model_id: str) -> None:
    """A model's classes, input shape, parameters and metrics, as JSON."""
    out.print_json(data=service.get_model(model_id))


@models.command("delete")
@click.argument("model_id")
@click.pass_obj
def delete_model(service: ServiceClient, model_id: str) -> None:
    """Delete a model; predictions stop using it at once."""
    service.delete_model(model_id)
    out.print(f"Deleted model {model_id}.")


@models.command("promote")
@click.argument("model_id")
@click.option("--alias", default="production", show_default=True, help="The alias to move.")
@click.option("--reason", help="Why, recorded with the move.")
@click.pass_obj
def promote_model(service: ServiceClient, model_id: str, alias: str, reason: str | None) -> None:
    """Point its name's alias (production) at this model; serving follows once it is loaded."""
    model = service.get_model(model_id)
    move = service.set_alias(model["name"], alias, model["version"], reason)
    out.print(render.alias_move(move))


@models.command("rollback")
@click.argument("name")
@click.option("--alias", default="production", show_default=True, help="The alias to move.")
@click.pass_obj
def rollback_model(service: ServiceClient, name: str, alias: str) -> None:
    """Move a name's alias (production) back to the version it pointed at before."""
    out.print(render.alias_move(service.rollback(name, alias)))


@main.group(invoke_without_command=True)
@click.pass_context
def datasets(ctx: click.Context) -> None:
    """List datasets, newest first; or upload, show or delete one."""
    if ctx.invoked_subcommand is None:
        page = ctx.obj.list_datasets()
        out.print(render.datasets_table(page["data"], page["count"]))


@datasets.command("upload")
@click.argument("archive", type=EXISTING_FILE)
@click.option("--name", help="A name for the dataset (default: the archive's).")
@click.option("--image-size", metavar="HxW", help="Resize to HxW or NxN pixels.")
@click.option("--no-wait", is_flag=True, help="Return once uploaded; do not follow it.")
@click.pass_obj
def upload_dataset(
    service: ServiceClient,
    archive: Path,
    name: str | None,
    image_size: str | None,
    no_wait: bool,
) -> None:
    """Upload a .tar.gz, .tgz or .zip of train/<class>/*.jpg (and test/<class>/*.jpg).

    The service checks and decodes the images in the background; the command follows that
    with a progress bar and prints the dataset once it is ready, or why it failed (exit 1).
    With --no-wait it returns at once (`kts datasets` shows the progress)."""
    dataset = service.upload_dataset(archive, name, image_size)
    if no_wait:
        out.print(f"Uploaded dataset {dataset['id']}: it is being prepared.")
        out.print(render.datasets_table([dataset], 1))
        return
    out.print(f"Uploaded dataset {dataset['id']}: preparing its images...")

    def reconnecting(problem: ServiceError) -> None:
        err.print(f"Lost the service ({problem}); asking again...")

    try:
        dataset = follow_preparation(service, dataset["id"], out, on_reconnect=reconnecting)
    except KeyboardInterrupt:
        err.print(
            f"Stopped following dataset {dataset['id']}; its preparation goes on "
            f"(`kts datasets show {dataset['id']}`)."
        )
        raise SystemExit(130) from None
    if dataset["status"] != "ready":
        render.print_dataset_failure(err, dataset)
        raise SystemExit(1)
    out.print(render.datasets_table([dataset], 1))


@datasets.command("show")
@click.argument("dataset_id")
@click.pass_obj
def show_dataset(service: ServiceClient, dataset_id: str) -> None:
    """A dataset's status and progress, and once ready its classes, image shape and image
    counts, as JSON."""
    out.print_json(data=service.get_dataset(dataset_id))


@datasets.command("delete")
@click.argument("dataset_id")
@click.pass_obj
def delete_dataset(service: ServiceClient, dataset_id: str) -> None:
    """Delete an uploaded dataset: its archive and arrays.

    Jobs that ended and models trained on it stay. Refused while a queued or running job uses
    it, or while it is being prepared."""
    service.delete_dataset(dataset_id)
    out.print(f"Deleted dataset {dataset_id}.")


@main.command("delete-job")
@click.argument("job_id")
@click.pass_obj
def delete_job(service: ServiceClient, job_id: str) -> None:
    """Delete a finished job.

    Its record and checkpoints go; the model it trained stays."""
    service.delete_job(job_id)
    out.print(f"Deleted job {job_id}.")


# Commands kept in modules of their own.
main.add_command(logs.logs)
main.add_command(files.save_curves)
for command in (files.download_model, files.export_model, files.save_confusion):
    models.add_command(command)


def _follow(service: ServiceClient, job_id: str) -> None:
    """Show the job live until it ends; exit 1 unless it succeeded."""

    def reconnecting(problem: ServiceError) -> None:
        err.print(f"Lost the job's event stream ({problem}); reconnecting...")

    final: dict[str, Any] = {}
    try:
        with TrainingDisplay(out, job_id) as display:
            for event in follow_job(service, job_id, on_reconnect=reconnecting):
                display.show(event)
                final = event.data
    except KeyboardInterrupt:
        err.print(f"Stopped following job {job_id}; it goes on (`kts cancel {job_id}` stops it).")
        raise SystemExit(130) from None
    succeeded = final["status"] == "succeeded"
    render.print_outcome(out if succeeded else err, final)
    if not succeeded:
        raise SystemExit(1)
