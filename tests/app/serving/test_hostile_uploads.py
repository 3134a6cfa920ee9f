"""Uploads that cost far more to decode than their size suggests: none is decoded on the event
loop, a request's images have a budget, and one client's cannot hold the decoders."""

import io
import threading

import pytest
import simplejpeg
from fastapi.testclient import TestClient
from PIL import Image

import core.images
from app.main import create_app
from app.serving.decoder_process import DecoderProcess
from devkit.hostile_images import blank, progressive_scan_flood, segment_padded_jpeg
from devkit.samples import cifar_samples

pytestmark = pytest.mark.slow

SLOW, QUICK = "slow-client-key", "quick-client-key"


class Decoding:
    """Where images were decoded: the server's threads that called a decoder (only the event
    loop should), and the tasks the child processes were given, with their number of images."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[str] = []
        self.in_child: list[tuple[str, int]] = []
        self.child_started = threading.Event()
        for owner, name in ((simplejpeg, "decode_jpeg"), (core.images, "_pillow_rgb")):
            self._record_thread(monkeypatch, owner, name)
        call = DecoderProcess.call

        def recorded(process: DecoderProcess, task: str, images: list, *args: object) -> list:
            self.in_child.append((task, len(images)))
            self.child_started.set()
            return call(process, task, images, *args)

        monkeypatch.setattr(DecoderProcess, "call", recorded)

    def _record_thread(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        original = getattr(owner, name)

        def recorded(*args: object, **kwargs: object) -> object:
            self.threads.append(threading.current_thread().name)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, recorded)

    def images_decoded_in_child(self) -> int:
        return sum(count for task, count in self.in_child if task == "decode_images")


def _predict(client: TestClient, *images: bytes, key: str | None = None):
    files = [
        ("file", (f"{n}.img", image, "application/octet-stream")) for n, image in enumerate(images)
    ]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/predict", files=files, headers=headers)


def _png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((side, side), 40).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "image",
    [progressive_scan_flood(), segment_padded_jpeg()],
    ids=["progressive-scan-flood", "segment-padded"],
)
def test_a_jpeg_whose_decoding_cost_is_unbounded_is_decoded_out_of_the_server(
    client, make_model, monkeypatch, image
):
    make_model()
    decoding = Decoding(monkeypatch)

    response = _predict(client, image)

    assert response.status_code == 200
    assert decoding.threads == []  # not on the event loop, nor anywhere else in the server
    assert decoding.images_decoded_in_child() == 1


def test_a_small_jpeg_the_fast_decoder_refuses_is_not_retried_on_the_event_loop(
    client, make_model, monkeypatch
):
    make_model()
    truncated = cifar_samples()["test"]["ship"][0][:-200]
    decoding = Decoding(monkeypatch)

    response = _predict(client, truncated)

    assert response.status_code in (200, 422)  # Pillow may recover a truncated JPEG
    assert len(decoding.threads) == 1  # libjpeg-turbo's refusal, on the loop; Pillow elsewhere
    assert decoding.images_decoded_in_child() == 1


def test_small_plain_jpegs_are_still_decoded_on_the_event_loop(client, make_model, monkeypatch):
    make_model()
    decoding = Decoding(monkeypatch)

    response = _predict(client, *cifar_samples()["test"]["cat"][:4])

    assert response.status_code == 200
    assert len(decoding.threads) == 4
    assert decoding.in_child == []


def test_a_request_over_its_pixel_budget_is_refused_before_any_image_is_decoded(
    settings, make_model, monkeypatch
):
    settings.max_predict_pixels = 3_000_000
    make_model()
    decoding = Decoding(monkeypatch)
    with TestClient(create_app(settings)) as client:
        one_too_many = _predict(client, *[blank(1000, "PNG")] * 4)
        too_large = _predict(client, blank(2000, "PNG"))
        within = _predict(client, *[blank(1000, "PNG")] * 3)

    assert one_too_many.status_code == 422
    assert "4000000 pixels in all" in one_too_many.json()["detail"]
    assert "MAX_PREDICT_PIXELS" in one_too_many.json()["detail"]
    assert too_large.status_code == 422
    assert (
        "0.img: The image is 2000x2000 pixels, over the limit of 3000000 pixels"
        in (too_large.json()["detail"])
    )
    assert within.status_code == 200
    assert decoding.images_decoded_in_child() == 3  # the refused requests decoded nothing


def test_the_default_pixel_budget_for_predictions_is_below_the_one_for_datasets(settings):
    assert settings.max_predict_pixels < settings.max_image_pixels
    assert settings.max_predict_pixels >= 6000 * 4000  # a 24-megapixel camera's photo


def test_one_clients_expensive_images_do_not_hold_the_decoders_from_another_client(
    settings, make_model, monkeypatch
):
    settings.api_keys = {SLOW: "predict", QUICK: "predict"}
    settings.prediction.decode_threads = 1
    make_model()
    decoding = Decoding(monkeypatch)
    finished: list[str] = []

    with TestClient(create_app(settings)) as client:

        def send(key: str, images: list[bytes]) -> None:
            assert _predict(client, *images, key=key).status_code == 200
            finished.append(key)

        # 24 megapixels, each image a few tens of milliseconds on the one decoding thread.
        slow = threading.Thread(target=send, args=(SLOW, [blank(1000, "PNG")] * 24))
        slow.start()
        assert decoding.child_started.wait(30)
        send(QUICK, [_png(64)])
        slow.join()

    assert finished == [QUICK, SLOW]
