"""The pictures themselves: drawn from plain data, the same from any thread."""

import io
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from core.plots import confusion_matrix_png, training_curves_png
from core.schemas import EpochMetrics


def epoch(number: int, validated: bool = True) -> EpochMetrics:
    val = (1.0 / number, 0.5) if validated else (None, None)
    return EpochMetrics(epoch=number, loss=1.0 / number, accuracy=0.4, val_loss=val[0],
                        val_accuracy=val[1], seconds=1.0)  # fmt: skip


def size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_one_epoch_without_validation_is_drawn():
    png = training_curves_png([epoch(1, validated=False)], "one epoch")

    assert size(png) == (1100, 420)


def test_many_classes_give_a_larger_picture_up_to_a_cap():
    names = [f"class {i}" for i in range(40)]
    confusion = [[1] * 40 for _ in range(40)]

    small = confusion_matrix_png([[1, 0], [0, 1]], ["cat", "ship"], "two")
    large = confusion_matrix_png(confusion, names, "forty")

    assert size(small) == (570, 420)
    assert size(large) == (1950, 1800)  # capped at 18 inches, counts left out


def test_pictures_drawn_in_threads_at_once_match_one_drawn_alone():
    history = [epoch(n) for n in range(1, 6)]
    alone = training_curves_png(history, "threads")

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda _: training_curves_png(history, "threads"), range(8)))

    assert all(png == alone for png in together)
