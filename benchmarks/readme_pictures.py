"""The README's pictures, from a real short training run through the worker.

    python -m benchmarks.readme_pictures --data ../shared/datasets/cifar10-jpeg.tar.gz

Takes the first images of each class from an image-folder archive, registers them as a dataset
and trains one job with the worker's own loop (SQLite in a temporary folder), then writes the
job's curves and its model's confusion matrix exactly as GET /jobs/{id}/curves.png and
GET /models/{id}/confusion.png draw them.
"""

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.subsets import first_images_archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="image-folder archive (.tar.gz)")
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    parser.add_argument("--model", default="quick_cnn")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()

    from core import plots
    from core.db import create_session_factory
    from core.job_store import JobStore
    from core.model_store import ModelStore
    from core.schemas import TrainRequest
    from core.settings import Settings
    from devkit.datasets import add_ready_dataset
    from worker.loop import run_worker

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "var", start_worker=False, _env_file=None)
        sessions = create_session_factory(settings)
        subset = first_images_archive(
            args.data, Path(folder) / "subset.tar.gz", args.train_per_class, args.test_per_class
        )
        dataset = add_ready_dataset(settings, subset, "CIFAR-10 subset")
        request = TrainRequest(
            dataset=dataset.id, model=args.model, epochs=args.epochs, seed=args.seed
        )
        jobs = JobStore(sessions)
        job_id = jobs.create_job(request.resolve(seed=args.seed), name="README example").id
        started = time.monotonic()
        run_worker(settings, burst=True)
        job = jobs.get_job(job_id)
        if job.model_id is None:
            raise SystemExit(f"The job did not succeed: {job.error_type}: {job.error_message}")
        model = ModelStore(sessions).get_model(job.model_id)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "curves.png").write_bytes(plots.job_curves_png(job))
        (args.out / "confusion.png").write_bytes(plots.model_confusion_png(model))
    print(
        f"{args.model}, {args.epochs} epochs on {dataset.train_count} training images: "
        f"test accuracy {job.test_accuracy:.4f} in {time.monotonic() - started:.0f} s; "
        f"wrote {args.out / 'curves.png'} and {args.out / 'confusion.png'}"
    )


if __name__ == "__main__":
    main()
