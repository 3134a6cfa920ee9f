"""A loaded model's forward pass, softmax included, as one compiled function, with no per-call
overhead of `model.predict` (which builds a data pipeline and callbacks on every call).

Batches are padded up to a power of two, so the backend compiles a handful of shapes, once
each (at warm-up), whatever batch sizes requests bring.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]


def bucket_size(count: int) -> int:
    """The padded batch size for `count` images: the next power of two."""
    return 1 << max(0, count - 1).bit_length()


def compile_forward(model: Any) -> Forward:
    """`pixels (N, H, W, 3) uint8 -> probabilities (N, classes) float32`, compiled for the
    backend."""
    import keras

    call = _jax_call(model) if keras.backend.backend() == "jax" else _tensorflow_call(model)

    def forward(pixels: np.ndarray) -> np.ndarray:
        count = len(pixels)
        padded = np.zeros((bucket_size(count), *pixels.shape[1:]), dtype=np.uint8)
        padded[:count] = pixels
        return np.asarray(call(padded), dtype=np.float32)[:count]

    return forward


def warm_up(forward: Forward, image_shape: tuple[int, ...], max_batch: int) -> None:
    """Compile every bucket a request can need now, not during a request."""
    size = 1
    while size <= bucket_size(max_batch):
        forward(np.zeros((size, *image_shape), dtype=np.uint8))
        size *= 2


def _tensorflow_call(model: Any) -> Callable[[np.ndarray], Any]:
    import tensorflow as tf

    function = tf.function(
        lambda pixels: tf.nn.softmax(
            tf.cast(model(tf.cast(pixels, tf.float32), training=False), tf.float32)
        )
    )
    # One concrete function per padded shape, called directly: the tf.function's own dispatch
    # (matching the arguments to a traced signature) cost a noticeable share of a single
    # image's forward pass in CPU time (docs/performance.md).
    concrete: dict[tuple[int, ...], Callable[[Any], Any]] = {}

    def call(pixels: np.ndarray) -> Any:
        traced = concrete.get(pixels.shape)
        if traced is None:
            spec = tf.TensorSpec(pixels.shape, pixels.dtype)
            traced = concrete[pixels.shape] = function.get_concrete_function(spec)
        return traced(tf.constant(pixels)).numpy()

    return call


def _jax_call(model: Any) -> Callable[[np.ndarray], Any]:
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def call(pixels: jax.Array) -> jax.Array:
        inputs = pixels.astype("float32")
        logits, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
        return jax.nn.softmax(logits.astype("float32"))

    return call
