"""Files the service makes (a model's `.keras` file and exports, training curves, confusion
matrices), saved whole or not at all."""

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import click
from click.decorators import FC
from rich.filesize import decimal

from client.api import ServiceClient
from client.consoles import out

EXPORT_FORMATS = ["saved_model"]

force_option = click.option("--force", is_flag=True, help="Replace the file if it exists.")


def output_option(default_name: str) -> Callable[[FC], FC]:
    return click.option(
        "-o", "--output", "target", type=click.Path(path_type=Path),
        help=f"The file, or a folder for {default_name} (default: {default_name} here).",
    )  # fmt: skip


@click.command("download")
@click.argument("model_id")
@output_option("MODEL_ID.keras")
@force_option
@click.pass_obj
def download_model(service: ServiceClient, model_id: str, target: Path | None, force: bool) -> None:
    """Save a model's .keras file, for keras.saving.load_model.

    Its custom layers load once `models.layers` is imported."""
    name = f"{_file_stem(model_id)}.keras"
    save(target, name, force, lambda file: service.download_model(model_id, file))


@click.command("export")
@click.argument("model_id")
@click.option(
    "--format", "export_format", type=click.Choice(EXPORT_FORMATS), default="saved_model",
    show_default=True, help="saved_model: a TensorFlow SavedModel, for TensorFlow Serving.",
)  # fmt: skip
@output_option("MODEL_ID-FORMAT.tar.gz")
@force_option
@click.pass_obj
def export_model(
    service: ServiceClient, model_id: str, export_format: str, target: Path | None, force: bool
) -> None:
    """Save a model exported for TensorFlow Serving, as a .tar.gz.

    It holds MODEL_ID/1/, a SavedModel taking raw pixels. The service builds it on the first
    request, which takes a while."""
    name = f"{_file_stem(model_id)}-{export_format}.tar.gz"
    save(target, name, force, lambda file: service.export_model(model_id, export_format, file))


@click.command("confusion")
@click.argument("model_id")
@output_option("MODEL_ID-confusion.png")
@force_option
@click.pass_obj
def save_confusion(service: ServiceClient, model_id: str, target: Path | None, force: bool) -> None:
    """Save a model's confusion matrix on its test split, as a PNG."""
    name = f"{_file_stem(model_id)}-confusion.png"
    save(target, name, force, lambda file: service.model_confusion(model_id, file))


@click.command("curves")
@click.argument("job_id")
@output_option("JOB_ID-curves.png")
@force_option
@click.pass_obj
def save_curves(service: ServiceClient, job_id: str, target: Path | None, force: bool) -> None:
    """Save a job's loss and accuracy curves, as a PNG.

    Per epoch, train and validation; a running job's so far."""
    name = f"{_file_stem(job_id)}-curves.png"
    save(target, name, force, lambda file: service.job_curves(job_id, file))


def save(
    target: Path | None, default_name: str, force: bool, write: Callable[[BinaryIO], None]
) -> Path:
    """Write into a hidden file beside `target`, renamed to `target` once complete: a refusal,
    a broken connection or Ctrl-C leaves no partial file, and an existing one unchanged."""
    target = target or Path(default_name)
    if target.is_dir():
        target = target / default_name
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; add --force to replace it.")
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with partial.open("xb") as file:
            write(file)
        os.replace(partial, target)
    except OSError as error:
        raise click.ClickException(f"Cannot write {target}: {error.strerror or error}") from None
    finally:
        partial.unlink(missing_ok=True)
    out.print(f"Saved {target} ({decimal(target.stat().st_size)})", markup=False)
    return target


def _file_stem(identifier: str) -> str:
    # An id names a file here, never a path elsewhere.
    return re.sub(r"[^\w.-]", "_", identifier)
