"""Building, training and evaluating a network on arrays: the one code path that the worker
and the benchmarks share, on either Keras backend."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.datasets.arrays import DatasetArrays
from core.schemas import TrainParams
from models import get_architecture
from models.layers import RandomFlipTranslate, RandomResizedCrop, SparseCrossentropy
from models.whitening import initialize_whitening
from worker.checkpoint import EpochCheckpoint, restore_latest_checkpoint
from worker.clock import StepClock
from worker.confusion import confusion_matrix
from worker.distribution import Distribution
from worker.divergence import FailOnDivergence
from worker.optimizers import make_optimizer
from worker.replica_batches import (
    dividing_batch_size,
    pad_to_multiple,
    pad_to_whole_batches,
    predict_evenly,
    replica_batch_size,
)
from worker.reseeding import ReseedEachEpoch

PREDICT_BATCH = 1024
DTYPE_POLICIES = {"off": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
JIT_COMPILE: dict[str, bool | str] = {"auto": "auto", "on": True, "off": False}


@dataclass
class FitOutcome:
    model: keras.Model
    test_accuracy: float
    test_loss: float
    test_confusion: np.ndarray  # rows: true class, columns: predicted class
    runtime: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    accuracy: float
    loss: float
    confusion: np.ndarray  # rows: true class, columns: predicted class


def fit_and_evaluate(
    params: TrainParams,
    arrays: DatasetArrays,
    distribution: Distribution,
    callbacks: list[keras.callbacks.Callback] | None = None,
    checkpoint_dir: Path | None = None,
    on_resume: Callable[[int], None] | None = None,
) -> FitOutcome:
    """Train and evaluate. With `checkpoint_dir`, training resumes from the newest checkpoint
    there (after calling `on_resume` with the epochs it completed) and checkpoints each epoch."""
    keras.utils.set_random_seed(params.seed)
    x_train, y_train, x_val, y_val = split_validation(arrays, params)
    replicas = distribution.replicas
    batch_size = replica_batch_size(params.batch_size, replicas)
    # Whole batches, all of one shape: the training step compiles once.
    x_batched, y_batched = pad_to_whole_batches(
        batch_size, *pad_to_multiple(replicas, x_train, y_train)
    )
    x_val, y_val = pad_to_multiple(replicas, x_val, y_val)
    validation_batch_size = dividing_batch_size(len(y_val), batch_size, replicas)
    policy = dtype_policy(params, distribution)
    clock = StepClock()
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        with distribution.scope():
            model = _build(params, arrays, x_train, replicas)
            steps = params.epochs * math.ceil(len(y_batched) / batch_size)
            model.compile(
                optimizer=make_optimizer(params, steps, model),
                loss=SparseCrossentropy(params.label_smoothing),
                metrics=["accuracy"],
                jit_compile=JIT_COMPILE[params.jit_compile],
                steps_per_execution=params.steps_per_execution,
            )
            resumed_epoch = (
                restore_latest_checkpoint(model, checkpoint_dir) if checkpoint_dir else 0
            )
        if resumed_epoch and on_resume is not None:
            on_resume(resumed_epoch)
        # The checkpoint comes after the caller's callbacks, so an epoch is on record before it
        # is checkpointed: a kill in between trains it again rather than losing its record.
        checkpointing = [EpochCheckpoint(checkpoint_dir)] if checkpoint_dir else []
        model.fit(
            x_batched,
            y_batched,
            batch_size=batch_size,
            epochs=params.epochs,
            initial_epoch=resumed_epoch,
            validation_data=(x_val, y_val),
            validation_batch_size=validation_batch_size,
            shuffle=params.shuffle,
            callbacks=[
                ReseedEachEpoch(params.seed),
                clock,
                *(callbacks or []),
                FailOnDivergence(),
                *checkpointing,
            ],
            verbose=0,
        )
        test = evaluate(model, arrays.x_test, arrays.y_test, params.tta, replicas, params.tta_shift)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    train_seconds = max(1e-9, clock.train_phase_seconds - clock.train_compile_seconds)
    epochs_run = params.epochs - resumed_epoch
    runtime = {
        "backend": distribution.backend,
        "dtype_policy": policy,
        "jit_compile": JIT_COMPILE[params.jit_compile],
        "steps_per_execution": params.steps_per_execution,
        "batch_size": batch_size,
        "compile_seconds": clock.compile_seconds,
        "training_seconds": clock.fit_seconds - clock.compile_seconds,
        "images_per_second": (
            len(y_batched) * epochs_run / train_seconds
            if epochs_run and clock.knows_steady_training
            else None
        ),
        "resumed_from_epoch": resumed_epoch,
    }
    return FitOutcome(model, test.accuracy, test.loss, test.confusion, runtime)


def dtype_policy(params: TrainParams, distribution: Distribution) -> str:
    if params.mixed_precision == "auto":
        return "mixed_bfloat16" if distribution.has_gpu else "float32"
    return DTYPE_POLICIES[params.mixed_precision]


def _build(
    params: TrainParams, arrays: DatasetArrays, x_train: np.ndarray, replicas: int
) -> keras.Model:
    network = get_architecture(params.model).build(arrays.image_shape, len(arrays.class_names))
    if params.whiten_init:
        whiten = network.get_layer("whiten")
        # Whatever the network does to pixels before the layer (normalising) comes first.
        before_whiten = keras.Model(network.inputs, whiten.input)
        initialize_whitening(
            whiten,
            x_train,
            lambda images: predict_evenly(before_whiten, images, replicas, PREDICT_BATCH),
        )
    augmentation = _augmentation(params, arrays.image_shape)
    if not augmentation:
        return network
    # Augmentation is a layer of the trained model, so it runs inside the compiled step on the
    # accelerator; at inference it passes images through unchanged.
    inputs = keras.Input(shape=arrays.image_shape, name="pixels")
    augmented = inputs
    for layer in augmentation:
        augmented = layer(augmented)
    return keras.Model(inputs, network(augmented), name=network.name)


def _augmentation(params: TrainParams, image_shape: tuple[int, int, int]) -> list[keras.Layer]:
    layers: list[keras.Layer] = []
    if params.crops(image_shape):
        # Another seed than the flips': the same one would draw the same numbers for both.
        seed = (params.seed + 1) % 2**31
        layers.append(RandomResizedCrop(params.crop_min_area, seed=seed, name="crop"))
    if params.flip or params.translate:
        layers.append(
            RandomFlipTranslate(params.flip, params.translate, params.seed, name="augment")
        )
    return layers


def evaluate(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    tta: bool,
    replicas: int = 1,
    tta_shift: int = 0,
) -> Evaluation:
    """Accuracy, cross-entropy and confusion matrix on (x, y), all from the same predictions;
    with `tta`, logits averaged with the mirror's; with `tta_shift`, those averaged, half and
    half, with the mean of the same for the images shifted `tta_shift` pixels diagonally up-left
    and down-right, edges reflected (airbench94's test-time augmentation)."""
    logits = _tta_logits(model, x, tta, replicas)
    if tta_shift:
        pad = ((0, 0), (tta_shift, tta_shift), (tta_shift, tta_shift), (0, 0))
        padded = np.pad(x, pad, mode="reflect")
        width = 2 * tta_shift  # of the padding, both sides together
        up_left = _tta_logits(model, padded[:, width:, width:], tta, replicas)
        down_right = _tta_logits(model, padded[:, :-width, :-width], tta, replicas)
        logits = (logits + (up_left + down_right) / 2) / 2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probabilities[np.arange(len(y)), y].mean()
    predicted = logits.argmax(axis=1)
    accuracy = (predicted == y).mean()
    return Evaluation(
        float(accuracy), float(loss), confusion_matrix(y, predicted, num_classes=logits.shape[1])
    )


def _tta_logits(model: keras.Model, x: np.ndarray, tta: bool, replicas: int) -> np.ndarray:
    """The logits of `x`; with `tta`, averaged with those of its mirror image."""
    logits = predict_evenly(model, x, replicas, PREDICT_BATCH).astype(np.float64)
    if tta:
        mirrored = predict_evenly(model, x[:, :, ::-1], replicas, PREDICT_BATCH)
        logits = (logits + mirrored.astype(np.float64)) / 2
    return logits


def split_validation(
    arrays: DatasetArrays, params: TrainParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a seeded share of train for validation; with none, validate on test."""
    if params.validation_split == 0:
        return arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test
    order = np.random.default_rng(params.seed).permutation(len(arrays.y_train))
    held = max(1, int(len(order) * params.validation_split))
    val, train = order[:held], order[held:]
    return arrays.x_train[train], arrays.y_train[train], arrays.x_train[val], arrays.y_train[val]
