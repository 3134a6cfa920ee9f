"""A trained model taken elsewhere: its `.keras` file, and a SavedModel for TensorFlow Serving,
each predicting what the service predicts for the same real JPEGs."""

import io
import json
import tarfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.export import ARCHIVES, ExportFormat
from core.images import decode_rgb
from devkit.samples import cifar_samples

pytestmark = pytest.mark.slow

EXPORT = {"format": "saved_model"}


def _jpegs() -> list[bytes]:
    samples = cifar_samples()["test"]
    return [samples[name][i] for name in ("airplane", "cat", "ship") for i in range(2)]


def _service_predictions(client, model, jpegs: list[bytes]) -> tuple[np.ndarray, list[int]]:
    """The service's probabilities (images x classes) and top class of each image."""
    files = [("file", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(jpegs)]
    response = client.post(
        "/predict", files=files, data={"model": model.id, "top_k": len(model.class_names)}
    )
    assert response.status_code == 200, response.text
    probabilities = np.zeros((len(jpegs), len(model.class_names)), dtype=np.float32)
    for row, result in zip(probabilities, response.json()["results"], strict=True):
        for prediction in result["predictions"]:
            row[prediction["index"]] = prediction["probability"]
    top = [result["predictions"][0]["index"] for result in response.json()["results"]]
    return probabilities, top


def _pixels(jpegs: list[bytes], settings) -> np.ndarray:
    """The images decoded exactly as the service decodes uploads."""
    return np.stack([decode_rgb(data, (32, 32), settings.max_image_pixels) for data in jpegs])


def test_download_is_the_keras_file_and_predicts_what_the_service_predicts(
    client, make_model, settings, tmp_path
):
    import keras

    import models.layers  # noqa: F401  the custom layers, as a user registers them

    model = make_model()
    jpegs = _jpegs()
    expected, top = _service_predictions(client, model, jpegs)

    response = client.get(f"/models/{model.id}/download")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert f'filename="{model.id}.keras"' in response.headers["content-disposition"]
    downloaded = tmp_path / "downloaded.keras"
    downloaded.write_bytes(response.content)
    network = keras.saving.load_model(downloaded, compile=False)
    logits = network.predict(_pixels(jpegs, settings).astype(np.float32), verbose=0)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    assert probabilities.argmax(axis=1).tolist() == top


def test_saved_model_export_predicts_what_the_service_predicts(
    client, make_model, settings, tmp_path
):
    import tensorflow as tf

    model = make_model()
    jpegs = _jpegs()
    expected, top = _service_predictions(client, model, jpegs)

    response = client.get(f"/models/{model.id}/export", params=EXPORT)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    disposition = response.headers["content-disposition"]
    assert f'filename="{model.id}-saved_model.tar.gz"' in disposition
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        names = archive.getnames()
        archive.extractall(tmp_path, filter="data")
    # One folder, with numbered versions inside: TensorFlow Serving's model_base_path layout.
    assert {name.split("/")[0] for name in names} == {model.id}
    assert f"{model.id}/1/saved_model.pb" in names
    version = tmp_path / model.id / "1"
    class_names = json.loads((version / "assets.extra" / "class_names.json").read_bytes())
    assert class_names == model.class_names
    serving = tf.saved_model.load(str(version)).signatures["serving_default"]
    outputs = serving(pixels=tf.constant(_pixels(jpegs, settings), dtype=tf.float32))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    assert outputs["class_index"].numpy().tolist() == top


def test_saved_model_export_names_each_class_exactly_whatever_it_holds(client, make_model):
    # A model trained on a dataset uploaded before class names were checked: a name with a
    # newline, written one per line, would shift every later index onto the wrong name.
    model = make_model(["two\nlines", "猫", "ship"])

    response = client.get(f"/models/{model.id}/export", params=EXPORT)

    assert response.status_code == 200, response.text
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        names = archive.getnames()
        exported = archive.extractfile(f"{model.id}/1/assets.extra/class_names.json")
        assert exported is not None
        class_names = json.loads(exported.read().decode("utf-8"))
    assert class_names == ["two\nlines", "猫", "ship"]
    assert not [name for name in names if name.endswith(".txt")]


def test_export_is_built_once_then_served_from_the_models_folder(
    client, make_model, settings, monkeypatch
):
    make_model()  # production, which the deletion at the end could not delete
    model = make_model()
    file_name, write = ARCHIVES[ExportFormat.SAVED_MODEL]
    builds = []

    def counted_write(record, archive, settings):
        builds.append(record.id)
        write(record, archive, settings)

    monkeypatch.setitem(ARCHIVES, ExportFormat.SAVED_MODEL, (file_name, counted_write))
    url = f"/models/{model.id}/export"

    with ThreadPoolExecutor(2) as pool:  # two first requests at the same time
        first, second = pool.map(lambda _: client.get(url, params=EXPORT), range(2))
    cached = settings.models_dir / model.id / file_name
    built_at = cached.stat().st_mtime_ns
    third = client.get(url, params=EXPORT)

    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 200]
    assert builds == [model.id]
    assert first.content == second.content == third.content == cached.read_bytes()
    assert cached.stat().st_mtime_ns == built_at
    # Nothing half-written is left beside the model, and deleting the model deletes the export.
    assert not [path.name for path in cached.parent.iterdir() if path.name.startswith(".")]
    assert client.delete(f"/models/{model.id}").status_code == 204
    assert not cached.parent.exists()


def test_unknown_model_is_404_and_unknown_format_is_422(client, make_model):
    model = make_model()

    download = client.get("/models/nope/download")
    export = client.get("/models/nope/export", params=EXPORT)
    bad_format = client.get(f"/models/{model.id}/export", params={"format": "onnx"})
    no_format = client.get(f"/models/{model.id}/export")

    assert download.status_code == 404 and "nope" in download.json()["detail"]
    assert export.status_code == 404 and "nope" in export.json()["detail"]
    assert bad_format.status_code == 422
    assert "format" in bad_format.json()["detail"] and "saved_model" in bad_format.json()["detail"]
    assert no_format.status_code == 422 and "format" in no_format.json()["detail"]
