"""Time to accuracy: the seed recipe against the fast recipe, on the same data and machine.

    python -m benchmarks.time_to_accuracy --data ../shared/datasets/cifar10-jpeg.tar.gz \\
        --backend jax

Trains (a) the seed network with the seed's recipe (Adam, batch 32, 10 epochs) and (b) the fast
recipe, through the worker's own training code, validating on the test split after each epoch.
Prints, for each: epochs, training and compile seconds, images/s and test accuracy, and the
time (b) took to reach (a)'s final accuracy over (a)'s whole training time.
"""

import argparse
import json
import os
import time
from pathlib import Path

from benchmarks.figures import images_per_second_text
from models.backend import apply_tensorflow_defaults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="image-folder archive")
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow")
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs of the fast recipe (default: its own)"
    )
    parser.add_argument("--seed-epochs", type=int, default=10, help="epochs of the seed recipe")
    parser.add_argument("--fast-model", default="airbench")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field of the fast recipe's POST /train body (repeatable)",
    )
    parser.add_argument("--skip-seed", action="store_true", help="run only the fast recipe")
    parser.add_argument(
        "--random-seed", type=int, default=0, help="the random seed of every run (default 0)"
    )
    parser.add_argument("--cpu-replicas", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="decoded arrays (.npz)")
    parser.add_argument(
        "--xla-cache", type=Path, default=None, help="JAX's persistent compilation cache folder"
    )
    args = parser.parse_args()
    # The backend is chosen before Keras is first imported.
    os.environ["KERAS_BACKEND"] = args.backend
    apply_tensorflow_defaults()
    run(args)


def run(args: argparse.Namespace) -> None:
    from benchmarks.epoch_log import EpochLog
    from benchmarks.load_arrays import load_arrays
    from core.schemas import TrainRequest
    from worker.distribution import get_distribution
    from worker.fitting import fit_and_evaluate

    arrays = load_arrays(args.data, args.cache)
    distribution = get_distribution(args.cpu_replicas, args.xla_cache)
    print(f"backend {distribution.backend}, devices {distribution.devices}")
    print(f"{len(arrays.y_train)} training and {len(arrays.y_test)} test images")

    overrides = dict(_parse_override(item) for item in args.set)
    runs = []
    if not args.skip_seed:
        runs.append(("seed", TrainRequest(model="seed_cnn", epochs=args.seed_epochs)))
    runs.append(
        (
            "fast",
            TrainRequest.model_validate(
                {"model": args.fast_model, "epochs": args.epochs, **overrides}
            ),
        )
    )
    results = {}
    for label, request in runs:
        fixed = {"validation_split": 0.0, "seed": args.random_seed}
        params = request.model_copy(update=fixed).resolve(seed=args.random_seed)
        log = EpochLog()
        started = time.monotonic()
        outcome = fit_and_evaluate(params, arrays, distribution, [log])
        wall = time.monotonic() - started
        results[label] = (params, outcome, log)
        runtime = outcome.runtime
        print(f"\n({label}) {params.model}: {params.model_dump()}")
        for epoch, (seconds, accuracy) in enumerate(log.epochs, start=1):
            print(f"  epoch {epoch:>3}: {seconds:7.1f} s since start, test accuracy {accuracy:.4f}")
        print(
            f"  epochs {params.epochs}, training {runtime['training_seconds']:.1f} s, "
            f"compile {runtime['compile_seconds']:.1f} s, "
            f"{images_per_second_text(runtime['images_per_second'])} images/s, "
            f"test accuracy {outcome.test_accuracy:.4f}"
            f"{_tta_label(params)}, wall {wall:.1f} s, "
            f"precision {runtime['dtype_policy']}, jit {runtime['jit_compile']}"
        )
    if "seed" in results:
        _compare(results["seed"], results["fast"])


def _compare(seed: tuple, fast: tuple) -> None:
    _, seed_outcome, _ = seed
    _, fast_outcome, fast_log = fast
    target = seed_outcome.test_accuracy
    seed_time = seed_outcome.runtime["training_seconds"]
    reached = fast_log.seconds_to_reach(target, fast_outcome.runtime["compile_seconds"])
    print(f"\nseed recipe: {target:.4f} test accuracy in {seed_time:.1f} s of training")
    if reached is None:
        print("fast recipe: did not reach it (per-epoch accuracy, without TTA)")
    else:
        print(
            f"fast recipe: reached it after {reached:.1f} s of training; "
            f"ratio {reached / seed_time:.3f} (goal on a CPU: <= 0.25)"
        )


def _tta_label(params) -> str:
    views = ["flip"] if params.tta else []
    if params.tta_shift:
        views.append(f"{params.tta_shift} px shifts")
    return f" (TTA: {', '.join(views)})" if views else ""


def _parse_override(item: str) -> tuple[str, object]:
    name, _, value = item.partition("=")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


if __name__ == "__main__":
    main()
