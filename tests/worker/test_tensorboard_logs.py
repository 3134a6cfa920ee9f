"""Which jobs get TensorBoard logs: those on a machine that can write them; the others train
without, saying so once in their log."""

import logging
import sys

import keras
import pytest

from worker.tensorboard_logs import tensorboard_logging


def test_a_job_logs_epoch_scalars_only_into_its_folder(tmp_path):
    callbacks = tensorboard_logging(tmp_path, "job-1")

    assert [type(callback) for callback in callbacks] == [keras.callbacks.TensorBoard]
    (logging_callback,) = callbacks
    assert logging_callback.log_dir == str(tmp_path / "tensorboard")
    assert logging_callback.update_freq == "epoch" and logging_callback.histogram_freq == 0
    assert not logging_callback.write_graph and not logging_callback.write_images


@pytest.mark.parametrize("missing", ["tensorflow", "tensorboard"])
def test_without_tensorflow_or_tensorboard_a_job_trains_without_logs(
    missing, tmp_path, monkeypatch, caplog
):
    monkeypatch.setitem(sys.modules, missing, None)  # `import <missing>` now fails

    with caplog.at_level(logging.INFO, logger="worker.tensorboard"):
        callbacks = tensorboard_logging(tmp_path, "job-1")

    assert callbacks == []
    (record,) = caplog.records
    assert f"{missing} is not installed" in record.getMessage()
    assert record.job_id == "job-1"
    assert not (tmp_path / "tensorboard").exists()
