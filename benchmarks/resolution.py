"""Resolution: the same CIFAR-10 images at 32x32 and upscaled, trained with a network's
default recipe for the same epochs.

    python -m benchmarks.resolution --data ../shared/datasets/cifar10-jpeg.tar.gz

Takes the first 500 training images of each class (5,000) and the whole test split (10,000),
trains the network's default recipe on them as they are and again upscaled (bilinear, test
images too) to 160x160, through the worker's own training code, validating on the test split.
Prints each run's test accuracy, training seconds and images/s, and the difference in accuracy
(the goal: at most 3 points).
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.figures import images_per_second_text
from models.backend import apply_tensorflow_defaults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="image-folder archive")
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow")
    parser.add_argument("--model", default="quick_cnn")
    parser.add_argument("--size", type=int, default=160, help="side of the upscaled run")
    parser.add_argument("--train-per-class", type=int, default=500)
    parser.add_argument("--test-per-class", type=int, default=1000, help="1000: all of them")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--cpu-replicas", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="decoded arrays (.npz)")
    args = parser.parse_args()
    # The backend is chosen before Keras is first imported.
    os.environ["KERAS_BACKEND"] = args.backend
    apply_tensorflow_defaults()
    run(args)


def run(args: argparse.Namespace) -> None:
    from benchmarks.load_arrays import load_arrays
    from core.datasets.arrays import DatasetArrays
    from core.schemas import TrainRequest
    from worker.distribution import get_distribution
    from worker.fitting import fit_and_evaluate

    full = load_arrays(args.data, args.cache)
    train = _first_of_each_class(full.y_train, args.train_per_class)
    test = _first_of_each_class(full.y_test, args.test_per_class)
    distribution = get_distribution(args.cpu_replicas)
    print(f"backend {distribution.backend}, devices {distribution.devices}")
    print(f"{len(train)} training and {len(test)} test images")

    accuracies = {}
    for side in (full.image_shape[0], args.size):
        arrays = DatasetArrays(
            _upscaled(full.x_train[train], side),
            full.y_train[train],
            _upscaled(full.x_test[test], side),
            full.y_test[test],
            full.class_names,
        )
        request = TrainRequest(
            model=args.model, epochs=args.epochs, validation_split=0.0, seed=args.random_seed
        )
        params = request.resolve(seed=args.random_seed)
        started = time.monotonic()
        outcome = fit_and_evaluate(params, arrays, distribution)
        runtime = outcome.runtime
        accuracies[side] = outcome.test_accuracy
        crops = "on" if params.crops(arrays.image_shape) else "off"
        print(
            f"{side}x{side}: {params.model}, epochs {params.epochs}, random resized crops {crops}, "
            f"test accuracy {outcome.test_accuracy:.4f}, "
            f"training {runtime['training_seconds']:.1f} s, "
            f"compile {runtime['compile_seconds']:.1f} s, "
            f"{images_per_second_text(runtime['images_per_second'])} images/s, "
            f"wall {time.monotonic() - started:.1f} s"
        )
    small, large = accuracies.values()
    print(f"difference: {100 * (small - large):+.2f} points (goal: at most 3)")


def _first_of_each_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first `per_class` images of each class, in the split's order."""
    return np.concatenate(
        [np.flatnonzero(labels == label)[:per_class] for label in np.unique(labels)]
    )


def _upscaled(images: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    if images.shape[1:3] == (side, side):
        return images
    return np.stack(
        [
            np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR))
            for image in images
        ]
    )


if __name__ == "__main__":
    main()
