"""Following an uploaded dataset while the service prepares it: a bar of the images decoded,
until the dataset is ready or has failed."""

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from client.api import ServiceClient, ServiceError
from client.outages import Outage


def follow_preparation(
    service: ServiceClient,
    dataset_id: str,
    console: Console,
    on_reconnect: Callable[[ServiceError], None] = lambda error: None,
    poll_every: float = 0.5,
    give_up_after: float = 300,
) -> dict[str, Any]:
    """Ask for the dataset until it is no longer `processing`, drawing its progress on a
    terminal (nothing where a live display cannot redraw); the dataset as it ended. An
    unreachable service (restarting) is asked again for up to `give_up_after` seconds."""
    bar = Progress(
        TextColumn("Decoding images"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        auto_refresh=False,  # redrawn at each answer: nothing moves between two
    )
    task = bar.add_task("decoding", total=None)
    outage = Outage(on_reconnect, give_up_after)
    with bar:
        while True:
            try:
                dataset = service.get_dataset(dataset_id)
            except ServiceError as error:
                outage.failed(error)
                time.sleep(poll_every)
                continue
            outage.ended()
            progress = dataset["progress"] or {}
            bar.update(task, total=progress.get("total"), completed=progress.get("done", 0))
            bar.refresh()
            if dataset["status"] != "processing":
                return dataset
            time.sleep(poll_every)
