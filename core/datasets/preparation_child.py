"""The process that prepares one upload: `python -m core.datasets.preparation_child REQUEST`.

A fresh interpreter, which imports neither TensorFlow nor Keras, started by the worker for each
attempt (preparation.py): an image that crashes a decoder, or what decoding a large archive
costs, ends this process, never the worker. It writes the arrays into the request's folder and
tells its parent how far it got, one JSON object a line on stdout: `{"progress": {"done",
"total"}}` at each chunk, then `{"ready": {...}}` or `{"failed": {"error", "problems"}}`. Once
its parent is gone (its lifeline cut: core/lifeline.py) it exits at once.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import write_image_folder_arrays
from core.errors import InvalidInputError, ServiceError
from core.lifeline import hold_lifeline

EXIT_PARENT_GONE = 3


def main(request: dict[str, Any]) -> None:
    hold_lifeline(request["lifeline_fd"], lambda: os._exit(EXIT_PARENT_GONE), grace_seconds=0)
    size = request["image_size"]
    try:
        imported = write_image_folder_arrays(
            Path(request["archive"]),
            Path(request["folder"]),
            ArchiveLimits(**request["limits"]),
            request["max_pixels"],
            request["max_side"],
            tuple(size) if size else None,
            on_chunk=lambda done, total: _send(progress={"done": done, "total": total}),
        )
    except ServiceError as error:
        problems = error.problems if isinstance(error, InvalidInputError) else []
        _send(failed={"error": error.message, "problems": problems})
        return
    arrays = imported.arrays
    _send(
        ready={
            "class_names": arrays.class_names,
            "image_shape": list(arrays.image_shape),
            "train_count": len(arrays.y_train),
            "test_count": len(arrays.y_test),
            "class_counts": imported.class_counts,
            "test_split": imported.test_split,
        }
    )


def _send(**message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
