"""Reading back the TensorBoard logs that jobs write."""

from pathlib import Path


def logged_steps(folder: Path) -> dict[str, list[int]]:
    """Each tag's steps (epochs), over every event file in `folder`, in the order written."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    steps: dict[str, list[int]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):  # named by their start time
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
    return steps
