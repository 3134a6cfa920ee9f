"""Checkpoints, resuming, stopping on request and on divergence, on real CIFAR-10 images."""

import json
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.schemas import TrainRequest
from devkit.samples import REPO_ROOT
from tests.tensorboard_events import logged_steps
from tests.worker.memmaps import memmapped_arrays
from worker.checkpoint import checkpoint_path, saved_checkpoints
from worker.control import JobControl
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate
from worker.interrupt import InterruptOnRequest
from worker.interruptions import JobCancelled, JobLost, TrainingDiverged, WorkerStopping
from worker.tensorboard_logs import epoch_tensorboard

pytestmark = pytest.mark.slow


@pytest.fixture
def arrays(make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=40, test_per_class=10)
    return import_image_folder_archive(
        archive, ArchiveLimits(10_000, 10**8, 10**7), 10**6, 64
    ).arrays


def _params(**values):
    request = {"model": "seed_cnn", "epochs": 2, "batch_size": 16, "seed": 3, **values}
    return TrainRequest.model_validate(request).resolve(seed=0)


class EpochsSeen(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []
        self.iterations_at_start: int | None = None

    def on_train_begin(self, logs=None):
        self.iterations_at_start = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch + 1)


def test_resume_continues_after_the_last_checkpoint_with_the_optimizer_state(arrays, tmp_path):
    checkpoints, tensorboard = tmp_path / "checkpoints", tmp_path / "tensorboard"
    fit_and_evaluate(
        _params(epochs=2),
        arrays,
        get_distribution(0),
        [epoch_tensorboard(tensorboard)],
        checkpoint_dir=checkpoints,
    )
    assert [epoch for epoch, _ in saved_checkpoints(checkpoints)] == [2, 1]

    seen = EpochsSeen()
    resumed_at: list[int] = []
    outcome = fit_and_evaluate(
        _params(epochs=3),
        arrays,
        get_distribution(0),
        [seen, epoch_tensorboard(tensorboard)],
        checkpoint_dir=checkpoints,
        on_resume=resumed_at.append,
    )

    assert resumed_at == [2] and seen.epochs == [3]
    # The resumed run's TensorBoard logs follow on from the first run's, in the same folders.
    for split in ("train", "validation"):
        assert logged_steps(tensorboard / split)["epoch_loss"] == [0, 1, 2]
    assert logged_steps(tensorboard / "train")["epoch_learning_rate"] == [0, 1, 2]
    steps_per_epoch = -(-108 // 16)  # 120 images less the 10% held out for validation
    assert seen.iterations_at_start == 2 * steps_per_epoch
    assert outcome.runtime["resumed_from_epoch"] == 2
    assert [epoch for epoch, _ in saved_checkpoints(checkpoints)] == [3, 2]


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(arrays, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    fit_and_evaluate(_params(epochs=2), arrays, get_distribution(0), checkpoint_dir=checkpoints)
    checkpoint_path(checkpoints, 2).write_bytes(b"torn")

    resumed_at: list[int] = []
    fit_and_evaluate(
        _params(epochs=2),
        arrays,
        get_distribution(0),
        checkpoint_dir=checkpoints,
        on_resume=resumed_at.append,
    )

    assert resumed_at == [1]


@pytest.mark.parametrize(
    ("set_reason", "expected"),
    [
        (lambda control, shutdown: control.request_cancel(), JobCancelled),
        (lambda control, shutdown: shutdown.set(), WorkerStopping),
        (lambda control, shutdown: control.mark_lost(), JobLost),
    ],
    ids=["cancel", "shutdown", "lost"],
)
def test_a_stop_request_ends_training_at_the_next_batch(arrays, tmp_path, set_reason, expected):
    import threading

    shutdown = threading.Event()
    control = JobControl(shutdown)

    class StopDuringEpoch2(keras.callbacks.Callback):
        batches_after_request = 0

        def on_train_batch_end(self, batch, logs=None):
            if control.interruption() is not None:
                self.batches_after_request += 1
            elif self.params and batch == 2 and len(seen.epochs) == 2:
                set_reason(control, shutdown)

    seen, stopper = EpochsSeen(), StopDuringEpoch2()
    checkpoints, tensorboard = tmp_path / "checkpoints", epoch_tensorboard(tmp_path / "tensorboard")
    with pytest.raises(expected):
        fit_and_evaluate(
            _params(epochs=3),
            arrays,
            get_distribution(0),
            [seen, stopper, InterruptOnRequest(control), tensorboard],
            checkpoint_dir=checkpoints,
        )

    assert seen.epochs == [1, 2]
    assert stopper.batches_after_request == 0  # no batch ran after the one that saw it
    assert [epoch for epoch, _ in saved_checkpoints(checkpoints)] == [1]
    # The finished epoch's TensorBoard log is on disk, though training never reached its end.
    assert logged_steps(tmp_path / "tensorboard" / "train")["epoch_loss"] == [0]


def test_a_diverging_loss_fails_the_training_before_its_last_epoch(arrays):
    seen = EpochsSeen()
    # Plain SGD at the largest learning rate a request may ask for overflows at once.
    params = _params(epochs=5, optimizer="sgd", learning_rate=100)

    with pytest.raises(TrainingDiverged, match=r"loss became (nan|inf)"):
        fit_and_evaluate(params, arrays, get_distribution(0), [seen])

    assert seen.epochs[-1] < 5


# With augmentations too: their generators' states are variables of the model, so they are
# checkpointed and restored with its weights, and the resumed epochs draw what they would have.
@pytest.mark.parametrize(
    "augmentation",
    [{}, {"flip": True, "translate": 2, "random_resized_crop": "on"}],
    ids=["plain", "augmented"],
)
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(arrays, tmp_path, augmentation):
    checkpoints = tmp_path / "checkpoints"
    uninterrupted = fit_and_evaluate(_params(epochs=3, **augmentation), arrays, get_distribution(0))

    fit_and_evaluate(
        _params(epochs=2, **augmentation), arrays, get_distribution(0), checkpoint_dir=checkpoints
    )
    resumed = fit_and_evaluate(
        _params(epochs=3, **augmentation), arrays, get_distribution(0), checkpoint_dir=checkpoints
    )

    assert resumed.runtime["resumed_from_epoch"] == 2
    assert resumed.test_loss == pytest.approx(uninterrupted.test_loss, rel=1e-4)
    assert resumed.test_accuracy == pytest.approx(uninterrupted.test_accuracy, abs=1e-9)


# Trains from memory-mapped arrays, checkpointing, and kills itself in the middle of epoch 2.
KILLED_IN_EPOCH_2 = """
import json, os, signal, sys
from pathlib import Path
import keras
from core.schemas import TrainRequest
from tests.worker.memmaps import open_memmapped_arrays
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate

folder, checkpoints = Path(sys.argv[1]), Path(sys.argv[2])
params = TrainRequest.model_validate(json.loads(sys.argv[3])).resolve(seed=0)

class KillInEpoch2(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == 3:
            os.kill(os.getpid(), signal.SIGKILL)
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

arrays = open_memmapped_arrays(folder, ["airplane", "cat", "ship"])
fit_and_evaluate(params, arrays, get_distribution(0), [KillInEpoch2()], checkpoint_dir=checkpoints)
"""


def test_a_run_killed_mid_epoch_resumes_from_memory_mapped_arrays_as_if_never_killed(
    arrays, tmp_path
):
    memmaps = memmapped_arrays(arrays, tmp_path / "arrays")
    checkpoints = tmp_path / "checkpoints"
    request = json.dumps({"model": "seed_cnn", "epochs": 3, "batch_size": 16, "seed": 3})
    script = [sys.executable, "-c", KILLED_IN_EPOCH_2]
    killed = subprocess.run(
        [*script, str(tmp_path / "arrays"), str(checkpoints), request],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert [epoch for epoch, _ in saved_checkpoints(checkpoints)] == [1]

    seen, resumed_at = EpochsSeen(), list[int]()
    resumed = fit_and_evaluate(
        _params(epochs=3),
        memmaps,
        get_distribution(0),
        [seen],
        checkpoint_dir=checkpoints,
        on_resume=resumed_at.append,
    )
    uninterrupted = fit_and_evaluate(_params(epochs=3), arrays, get_distribution(0))

    assert isinstance(memmaps.x_train, np.memmap)
    assert resumed_at == [1] and seen.epochs == [2, 3]  # epoch 2 trained again, once
    assert resumed.runtime["resumed_from_epoch"] == 1
    # The same batches in the same order as a run that was never killed, from the same files.
    assert resumed.test_loss == pytest.approx(uninterrupted.test_loss, rel=1e-4)
    assert resumed.test_accuracy == pytest.approx(uninterrupted.test_accuracy, abs=1e-9)
