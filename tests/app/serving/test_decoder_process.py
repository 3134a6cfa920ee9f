import multiprocessing
import os
import signal
import threading
from multiprocessing.process import BaseProcess

import pytest

import app.serving.decoder_process
from app.serving.decoder_process import DecoderProcess
from core.errors import InvalidInputError, ServiceError
from devkit.hostile_images import blank, png_claiming
from devkit.samples import cifar_samples

pytestmark = pytest.mark.slow

LIMIT = 40_000_000


@pytest.fixture
def decoder():
    process = DecoderProcess()
    yield process
    process.close()


def _decoder_children() -> list[BaseProcess]:
    return [child for child in multiprocessing.active_children() if child.name == "image-decoder"]


def test_images_are_decoded_in_a_child_process_each_up_to_the_first_refusal(decoder):
    ship = cifar_samples()["test"]["ship"][0]

    sizes = decoder.call("image_pixels", [ship, png_claiming(100_000, 100_000), ship], LIMIT)
    images = decoder.call("decode_images", [ship, ship], (16, 16), LIMIT)

    assert sizes[0] == 32 * 32
    assert isinstance(sizes[1], ServiceError) and "over the limit" in sizes[1].message
    assert len(sizes) == 2
    assert [image.shape for image in images] == [(16, 16, 3), (16, 16, 3)]
    assert len(_decoder_children()) == 1
    pid = _decoder_children()[0].pid
    assert pid is not None  # a started process has one
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.nice(0)


def test_a_decoder_that_dies_costs_its_request_the_image_and_the_next_one_gets_a_new_one(decoder):
    ship = cifar_samples()["test"]["ship"][0]
    slow = [blank(5000, "WEBP")] * 8
    decoder.call("image_pixels", [ship], LIMIT)  # started
    child = _decoder_children()[0]
    killer = threading.Timer(0.1, os.kill, (child.pid, signal.SIGKILL))
    killer.start()

    with pytest.raises(InvalidInputError, match="its decoder failed on it"):
        decoder.call("decode_images", slow, (32, 32), LIMIT)
    answer = decoder.call("image_pixels", [ship], LIMIT)

    killer.join()
    assert answer == [32 * 32]
    assert [c.pid for c in _decoder_children()] != [child.pid]


def test_a_decoding_that_takes_too_long_is_given_up_and_the_next_one_runs(decoder, monkeypatch):
    ship = cifar_samples()["test"]["ship"][0]
    slow = [blank(5000, "WEBP")] * 8
    monkeypatch.setattr(app.serving.decoder_process, "TIMEOUT_SECONDS", 0.05)

    with pytest.raises(InvalidInputError, match="took longer than"):
        decoder.call("decode_images", slow, (32, 32), LIMIT)
    monkeypatch.setattr(app.serving.decoder_process, "TIMEOUT_SECONDS", 30.0)

    assert decoder.call("image_pixels", [ship], LIMIT) == [32 * 32]
