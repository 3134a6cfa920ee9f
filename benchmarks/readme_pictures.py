"""The README's pictures, from a real short training run through the worker.

    python -m benchmarks.readme_pictures --data ../shared/datasets/cifar10-jpeg.tar.gz

Takes the first images of each class from an image-folder archive, registers them as a dataset
and trains one job with the worker's own loop (SQLite in a temporary folder), then writes the
job's curves and its model's confusion matrix exactly as GET /jobs/{id}/curves.png and
GET /models/{id}/confusion.png draw them.
"""

import argparse
import io
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path


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
    from core.dataset_store import DatasetStore
    from core.datasets.registration import register_dataset_archive
    from core.db import create_session_factory
    from core.job_store import JobStore
    from core.model_store import ModelStore
    from core.schemas import TrainRequest
    from core.settings import Settings
    from worker.loop import run_worker

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "var", start_worker=False, _env_file=None)
        sessions = create_session_factory(settings)
        subset = _first_images(
            args.data, Path(folder) / "subset.tar.gz", args.train_per_class, args.test_per_class
        )
        dataset = register_dataset_archive(
            subset, subset.name, "CIFAR-10 subset", None, settings, DatasetStore(sessions)
        )
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


def _first_images(source: Path, target: Path, train_per_class: int, test_per_class: int) -> Path:
    """A smaller archive: the first images of each class in each split, in archive order."""
    wanted = {"train": train_per_class, "test": test_per_class}
    taken: Counter[tuple[str, str]] = Counter()
    with tarfile.open(source, "r:gz") as archive, tarfile.open(target, "w:gz") as subset:
        for member in archive:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 3 or parts[-3] not in wanted:
                continue
            split, class_name = parts[-3], parts[-2]
            if taken[split, class_name] < wanted[split]:
                taken[split, class_name] += 1
                data = archive.extractfile(member).read()  # type: ignore[union-attr]
                info = tarfile.TarInfo(f"{split}/{class_name}/{parts[-1]}")
                info.size = len(data)
                subset.addfile(info, io.BytesIO(data))
    return target


if __name__ == "__main__":
    main()
