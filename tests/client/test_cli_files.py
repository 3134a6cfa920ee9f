"""`kts models download|export|confusion` and `kts curves`, against the real service; and
how a download that breaks leaves the disk."""

import tarfile
from pathlib import Path
from typing import BinaryIO

import click
import pytest
from PIL import Image

from client.api import ServiceError
from client.files import save
from tests.client.conftest import CLASSES, one_line_error


def _saved(result, path: Path) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Saved {path} (") and result.stdout.endswith(")\n")
    assert path.is_file()


@pytest.mark.slow
def test_download_saves_the_keras_file_that_keras_loads(trained, tmp_path):
    import keras

    import models.layers  # noqa: F401  the custom layers, as a user registers them

    model_id = trained.job["model_id"]

    result = trained.kts("models", "download", model_id, "-o", str(tmp_path))

    _saved(result, tmp_path / f"{model_id}.keras")
    network = keras.saving.load_model(tmp_path / f"{model_id}.keras", compile=False)
    assert network.output_shape == (None, len(CLASSES))
    assert [path.name for path in tmp_path.iterdir()] == [f"{model_id}.keras"]


@pytest.mark.slow
def test_export_saves_a_saved_model_archive(trained, tmp_path):
    model_id = trained.job["model_id"]
    target = tmp_path / "exported.tar.gz"

    result = trained.kts("models", "export", model_id, "--format", "saved_model", "-o", str(target))

    _saved(result, target)
    with tarfile.open(target, "r:gz") as archive:
        names = archive.getnames()
    assert f"{model_id}/1/saved_model.pb" in names
    assert {name.split("/")[0] for name in names} == {model_id}


@pytest.mark.slow
def test_curves_and_confusion_are_saved_as_pngs(trained, tmp_path):
    job = trained.job

    curves = trained.kts("curves", job["id"], "-o", str(tmp_path))
    confusion = trained.kts("models", "confusion", job["model_id"], "-o", str(tmp_path))

    for result, name in ((curves, f"{job['id']}-curves.png"), (confusion, None)):
        path = tmp_path / (name or f"{job['model_id']}-confusion.png")
        _saved(result, path)
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 100 and image.height > 100


@pytest.mark.slow
def test_an_existing_file_is_replaced_only_with_force(trained, tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"mine")
    download = ("models", "download", trained.job["model_id"], "-o", str(target))

    refused = trained.kts(*download)
    unchanged = target.read_bytes()
    forced = trained.kts(*download, "--force")

    assert one_line_error(refused) == f"Error: {target} exists; add --force to replace it.\n"
    assert unchanged == b"mine"
    _saved(forced, target)
    assert target.read_bytes()[:2] == b"PK"  # a .keras file is a zip archive
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]


@pytest.mark.slow
def test_an_unknown_model_or_job_is_refused_and_leaves_no_file(trained, tmp_path):
    kts = trained.kts
    target = str(tmp_path / "saved")

    for command in ("download", "export", "confusion"):
        error = one_line_error(kts("models", command, "nope", "-o", target))
        assert error == "Error: No model with id 'nope'. (HTTP 404)\n", command
    error = one_line_error(kts("curves", "nope", "-o", target))
    assert error == "Error: No job with id 'nope'. (HTTP 404)\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_folder_that_does_not_exist_is_one_line(trained, tmp_path):
    target = tmp_path / "missing" / "model.keras"

    error = one_line_error(
        trained.kts("models", "download", trained.job["model_id"], "-o", str(target))
    )

    assert error == f"Error: Cannot write {target}: No such file or directory\n"


def _breaks_midway(file: BinaryIO) -> None:
    file.write(b"the first half")
    raise ServiceError("Cannot reach the service at http://127.0.0.1:1: peer closed")


def test_a_download_that_breaks_leaves_no_partial_file(tmp_path):
    with pytest.raises(ServiceError):
        save(tmp_path / "model.keras", "unused.keras", False, _breaks_midway)

    assert list(tmp_path.iterdir()) == []


def test_a_download_that_breaks_leaves_the_file_it_would_replace(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"mine")

    with pytest.raises(KeyboardInterrupt):
        save(target, "unused.keras", True, _interrupted_midway)

    assert target.read_bytes() == b"mine" and list(tmp_path.iterdir()) == [target]


def test_an_existing_file_is_refused_before_anything_is_asked(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"mine")

    with pytest.raises(click.ClickException, match="exists; add --force"):
        save(target, "unused.keras", False, _breaks_midway)


def _interrupted_midway(file: BinaryIO) -> None:
    file.write(b"the first half")
    raise KeyboardInterrupt  # Ctrl-C
