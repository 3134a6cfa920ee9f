"""Building, training and evaluating a network on arrays: the one code path that the worker
and the benchmarks share, on either Keras backend.

The arrays may be memory-mapped files: every split is read batch by batch (worker/batches.py),
never whole, so a job needs the memory of a few batches rather than of its dataset.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.datasets.arrays import DatasetArrays
from core.schemas import TrainParams
from models import get_architecture
from models.layers import RandomFlipTranslate, RandomResizedCrop, SparseCrossentropy
from models.whitening import SAMPLE_IMAGES, initialize_whitening, sample_chunk_images
from worker.batches import (
    EvaluationBatches,
    TrainingBatches,
    gather_rows,
    training_input,
    whole_batch_rows,
)
from worker.checkpoint import EpochCheckpoint, restore_latest_checkpoint
from worker.clock import StepClock
from worker.distribution import Distribution
from worker.divergence import FailOnDivergence
from worker.evaluation import PREDICT_BATCH, evaluate, predict_evenly
from worker.optimizers import make_optimizer
from worker.replica_batches import dividing_batch_size, pad_to_multiple, replica_batch_size

DTYPE_POLICIES = {"off": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
JIT_COMPILE: dict[str, bool | str] = {"auto": "auto", "on": True, "off": False}


@dataclass
class FitOutcome:
    model: keras.Model
    test_accuracy: float
    test_loss: float
    test_confusion: np.ndarray  # rows: true class, columns: predicted class
    runtime: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationSplit:
    """Which rows of the arrays train, and which validate."""

    train: np.ndarray  # rows of x_train, in the seeded order that padding and sampling follow
    validation_x: np.ndarray  # x_train with a held-out share, else x_test
    validation_y: np.ndarray
    validation: np.ndarray  # rows of validation_x


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
    # The initial weights. Training itself draws from no global generator: the batches' order
    # comes from the seed and the epoch (worker/batches.py), augmentations from their own seeds.
    keras.utils.set_random_seed(params.seed)
    split = split_validation(arrays, params)
    replicas = distribution.replicas
    batch_size = replica_batch_size(params.batch_size, replicas)
    # Whole batches, all of one shape: the training step compiles once.
    train_rows = whole_batch_rows(split.train, batch_size, replicas)
    (validation_rows,) = pad_to_multiple(replicas, split.validation)
    validation = EvaluationBatches(
        split.validation_x,
        split.validation_y,
        np.sort(validation_rows),  # in file order: the metrics do not depend on it
        dividing_batch_size(len(validation_rows), batch_size, replicas),
    )
    policy = dtype_policy(params, distribution)
    clock = StepClock()
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    training: TrainingBatches | None = None
    try:
        with distribution.scope():
            model = _build(params, arrays, split.train, replicas)
            steps_per_epoch = -(-len(train_rows) // batch_size)
            model.compile(
                optimizer=make_optimizer(params, params.epochs * steps_per_epoch, model),
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
        training = TrainingBatches(
            arrays.x_train,
            arrays.y_train,
            train_rows,
            batch_size,
            params.seed,
            params.shuffle,
            first_epoch=resumed_epoch,
            epochs=params.epochs,
        )
        model.fit(
            training_input(training),
            epochs=params.epochs,
            initial_epoch=resumed_epoch,
            steps_per_epoch=steps_per_epoch,
            shuffle=False,  # the batches come shuffled, by the seed and the epoch
            validation_data=validation,
            callbacks=[
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
        validation.close()
        if training is not None:
            training.close()
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
            len(train_rows) * epochs_run / train_seconds
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
    params: TrainParams, arrays: DatasetArrays, train_rows: np.ndarray, replicas: int
) -> keras.Model:
    network = get_architecture(params.model).build(arrays.image_shape, len(arrays.class_names))
    if params.whiten_init:
        whiten = network.get_layer("whiten")
        # Whatever the network does to pixels before the layer (normalising) comes first.
        before_whiten = keras.Model(network.inputs, whiten.input)
        sample = _whitening_sample(arrays.x_train, train_rows[:SAMPLE_IMAGES])
        initialize_whitening(
            whiten,
            (predict_evenly(before_whiten, images, replicas, PREDICT_BATCH) for images in sample),
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


def _whitening_sample(x: np.ndarray, rows: np.ndarray) -> Iterator[np.ndarray]:
    """The images of `rows`, a bounded chunk at a time."""
    step = sample_chunk_images(x.shape[1:])
    for start in range(0, len(rows), step):
        yield gather_rows(x, rows[start : start + step])


def split_validation(arrays: DatasetArrays, params: TrainParams) -> ValidationSplit:
    """Hold out a seeded share of train for validation; with none, validate on test."""
    if params.validation_split == 0:
        test_rows = np.arange(len(arrays.y_test))
        return ValidationSplit(
            np.arange(len(arrays.y_train)), arrays.x_test, arrays.y_test, test_rows
        )
    order = np.random.default_rng(params.seed).permutation(len(arrays.y_train))
    held = max(1, int(len(order) * params.validation_split))
    return ValidationSplit(order[held:], arrays.x_train, arrays.y_train, order[:held])
