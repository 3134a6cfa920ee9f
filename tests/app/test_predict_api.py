import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from core.schemas import PredictionPublic
from devkit.samples import cifar_samples

pytestmark = pytest.mark.slow


def _jpeg() -> bytes:
    return cifar_samples()["test"]["ship"][0]


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims enormous dimensions (a decompression bomb), without the pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def test_predict_without_any_model_says_to_train_first(client):
    response = client.post("/predict", files={"file": ("x.jpg", _jpeg(), "image/jpeg")})

    assert response.status_code == 409
    assert "POST /train" in response.json()["detail"]


def test_predict_answers_top_k_probabilities(client, make_model):
    model = make_model()

    response = client.post(
        "/predict", files={"file": ("ship.jpg", _jpeg(), "image/jpeg")}, data={"top_k": "2"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["model_id"] == model.id
    predictions = body["predictions"]
    assert len(predictions) == 2
    assert predictions[0]["probability"] >= predictions[1]["probability"]
    for p in predictions:
        assert model.class_names[p["index"]] == p["label"]
    all_classes = client.post(
        "/predict", files={"file": ("s.jpg", _jpeg(), "image/jpeg")}, data={"top_k": "100"}
    ).json()["predictions"]
    assert len(all_classes) == 3
    assert sum(p["probability"] for p in all_classes) == pytest.approx(1.0, abs=1e-6)


def test_predict_uses_the_production_version_unless_a_model_is_named(client, make_model):
    production, newer = make_model(), make_model(["a", "b"])

    default = client.post("/predict", files={"file": ("s.jpg", _jpeg(), "image/jpeg")})
    named = client.post(
        "/predict", files={"file": ("s.jpg", _jpeg(), "image/jpeg")}, data={"model": newer.id}
    )

    assert default.json()["model_id"] == production.id  # not the newest
    assert named.json()["model_id"] == newer.id


def test_any_image_size_and_mode_is_accepted(client, make_model):
    make_model()
    buffer = io.BytesIO()
    Image.new("LA", (300, 200), (90, 128)).save(buffer, "PNG")

    response = client.post("/predict", files={"file": ("big.png", buffer.getvalue(), "image/png")})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("files", "data", "status", "type_"),
    [
        ({"file": ("e.jpg", b"", "image/jpeg")}, {}, 422, "validation_error"),
        (
            {"file": ("n.txt", b"hello, not an image", "text/plain")},
            {},
            415,
            "unsupported_media_type",
        ),
        ({"file": ("t.jpg", None, "image/jpeg")}, {}, 422, "validation_error"),  # truncated
        ({"file": ("b.png", "bomb", "image/png")}, {}, 422, "validation_error"),
        ({"other": ("x.jpg", b"x", "image/jpeg")}, {}, 422, "validation_error"),  # no `file`
        ({"file": ("s.jpg", "ok", "image/jpeg")}, {"model": "nope"}, 404, "not_found"),
        ({"file": ("s.jpg", "ok", "image/jpeg")}, {"top_k": "0"}, 422, "validation_error"),
    ],
)
def test_bad_uploads_get_clear_errors_and_the_server_keeps_serving(
    client, make_model, files, data, status, type_
):
    make_model()
    name, (filename, content, media) = next(iter(files.items()))
    if content is None:
        content = _jpeg()[:300]
    elif content == "bomb":
        content = _png_header(100_000, 100_000)
    elif content == "ok":
        content = _jpeg()

    response = client.post("/predict", files={name: (filename, content, media)}, data=data)

    assert response.status_code == status, response.text
    assert response.json()["type"] == type_
    assert isinstance(response.json()["detail"], str)
    assert (
        client.post("/predict", files={"file": ("s.jpg", _jpeg(), "image/jpeg")}).status_code == 200
    )


def test_a_malformed_multipart_body_is_a_400_and_the_server_keeps_serving(client, make_model):
    make_model()

    response = client.post(
        "/predict",
        content=b"--x\r\nthis is not a part header\r\n\r\n",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )

    assert response.status_code == 400
    assert response.json()["type"] == "bad_request"
    assert response.json()["detail"].startswith("Invalid multipart data: ")
    assert (
        client.post("/predict", files={"file": ("s.jpg", _jpeg(), "image/jpeg")}).status_code == 200
    )


def test_upload_over_the_limit_is_413(settings, make_model):
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings.max_upload_bytes = 1000
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/predict", files={"file": ("big.jpg", b"\xff" * 200_000, "image/jpeg")}
        )

    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"


def test_models_with_custom_layers_load_safely_and_predict(client, settings, sessions):
    """A fast-recipe model carries the augmentation layer; the app must load it in safe mode."""
    import keras

    from core.model_store import ModelStore
    from models import get_architecture
    from models.layers import RandomFlipTranslate
    from worker.saving import save_trained_model

    network = get_architecture("quick_cnn").build((32, 32, 3), 3)
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, network(RandomFlipTranslate(True, 2, name="augment")(inputs)))
    record = save_trained_model(
        model,
        settings.models_dir,
        {
            "job_id": "j",
            "dataset_id": "d",
            "architecture": "quick_cnn",
            "class_names": ["airplane", "cat", "ship"],
            "input_shape": [32, 32, 3],
            "params": {},
            "metrics": {},
        },
    )
    ModelStore(sessions).add_model(record)

    response = client.post(
        "/predict", params={"model": record.id}, files={"file": ("s.jpg", _jpeg(), "image/jpeg")}
    )

    assert response.status_code == 200, response.text
    assert response.json()["model_id"] == record.id


def test_several_images_in_one_request_are_predicted_together_in_order(client, make_model):
    make_model()
    images = [("ship.jpg", _jpeg()), ("cat.jpg", cifar_samples()["test"]["cat"][0])]

    response = client.post(
        "/predict",
        files=[("file", (name, data, "image/jpeg")) for name, data in images],
        data={"top_k": "3"},
    )

    assert response.status_code == 200, response.text
    PredictionPublic.model_validate(response.json())  # the documented shape
    results = response.json()["results"]
    assert [r["filename"] for r in results] == ["ship.jpg", "cat.jpg"]
    for (name, data), result in zip(images, results, strict=True):
        alone = client.post("/predict", files={"file": (name, data, "image/jpeg")}).json()
        assert [p["index"] for p in result["predictions"]] == [
            p["index"] for p in alone["predictions"][:3]
        ]
        for together, single in zip(result["predictions"], alone["predictions"], strict=False):
            assert together["probability"] == pytest.approx(single["probability"], abs=1e-5)
    assert response.json()["predictions"] == results[0]["predictions"]


def test_a_raw_image_body_works_with_query_options(client, make_model):
    older, _ = make_model(), make_model()

    response = client.post(
        "/predict",
        content=_jpeg(),
        headers={"content-type": "image/jpeg"},
        params={"top_k": 2, "model": older.id},
    )

    assert response.status_code == 200, response.text
    assert response.json()["model_id"] == older.id
    assert len(response.json()["predictions"]) == 2


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"top_k": "many"}, 422, "top_k: Input should be a valid integer"),
        ({"top_k": "0"}, 422, "top_k: Input should be greater than or equal to 1"),
        ({"top_k": "1001"}, 422, "top_k: Input should be less than or equal to 1000"),
        ({"model": "nope"}, 404, "'nope'"),
    ],
)
def test_bad_query_options_get_clear_errors(client, make_model, params, status, detail):
    make_model()

    response = client.post(
        "/predict", content=_jpeg(), headers={"content-type": "image/jpeg"}, params=params
    )

    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    if status == 422:
        problem = response.json()["errors"][0]
        assert (problem["field"], problem["received"]) == ("top_k", params["top_k"])


def test_a_body_that_is_neither_form_nor_image_is_415(client, make_model):
    make_model()

    response = client.post("/predict", json={"file": "ship.jpg"})

    assert response.status_code == 415
    assert "Content-Type: image/*" in response.json()["detail"]


def test_a_bad_image_among_several_is_named(client, make_model):
    make_model()
    files = [
        ("file", ("good.jpg", _jpeg(), "image/jpeg")),
        ("file", ("bad.jpg", b"x", "image/jpeg")),
    ]

    response = client.post("/predict", files=files)

    assert response.status_code == 415
    assert response.json()["detail"].startswith("bad.jpg: ")


def test_more_images_than_a_batch_holds_are_refused(settings, make_model):
    from fastapi.testclient import TestClient

    from app.main import create_app

    make_model()
    settings.prediction.max_batch = 2
    with TestClient(create_app(settings)) as client:
        files = [("file", (f"{i}.jpg", _jpeg(), "image/jpeg")) for i in range(3)]
        response = client.post("/predict", files=files)

    assert response.status_code == 400
    assert "Too many files" in response.json()["detail"]


def test_a_model_whose_files_are_damaged_is_a_clear_503_and_others_still_serve(client, make_model):
    broken, good = make_model(), make_model()  # the broken one is the production version
    Path(broken.path).write_bytes(b"not a keras archive")

    response = client.post("/predict", files={"file": ("s.jpg", _jpeg(), "image/jpeg")})

    assert response.status_code == 503
    assert response.json()["detail"].startswith(f"Model '{broken.id}' could not be loaded")
    named = client.post(
        "/predict", files={"file": ("s.jpg", _jpeg(), "image/jpeg")}, data={"model": good.id}
    )
    assert named.status_code == 200
