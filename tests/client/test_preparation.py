"""Following a dataset's preparation, against canned answers of the service: the progress bar,
the dataset as it ended, an outage on the way, and a refusal."""

import io
from collections.abc import Iterator

import httpx
import pytest
from rich.console import Console

from client.api import ServiceClient, ServiceError
from client.preparation import follow_preparation
from client.render import datasets_table

READY = {
    "id": "d1",
    "name": "flowers",
    "kind": "image_folder",
    "status": "ready",
    "progress": {"done": 3000, "total": 3000},
    "error": None,
    "problems": [],
    "class_names": ["daisy", "rose"],
    "image_shape": [32, 32, 3],
    "train_count": 2400,
    "test_count": 600,
    "created_at": "2026-12-07T01:00:00Z",
}


def _processing(done: int, total: int | None) -> dict:
    return {
        **READY,
        "status": "processing",
        "progress": {"done": done, "total": total},
        **dict.fromkeys(("class_names", "image_shape", "train_count", "test_count")),
    }


def _service(answers: list[dict | Exception | httpx.Response]) -> ServiceClient:
    """A client whose requests for the dataset get `answers`, one after the other."""
    left: Iterator[dict | Exception | httpx.Response] = iter(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/datasets/d1"
        given = next(left)
        if isinstance(given, Exception):
            raise given
        return given if isinstance(given, httpx.Response) else httpx.Response(200, json=given)

    service = ServiceClient("http://kts.test")
    service._http = httpx.Client(base_url=service.url, transport=httpx.MockTransport(answer))
    return service


def _terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100)


def test_the_bar_follows_the_images_decoded_until_the_dataset_is_ready():
    service = _service([_processing(0, None), _processing(1200, 3000), READY])
    console = _terminal()

    dataset = follow_preparation(service, "d1", console, poll_every=0)

    assert dataset == READY
    drawn = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Decoding images" in drawn and "1200/3000" in drawn and "3000/3000" in drawn


def test_a_failed_dataset_is_returned_as_it_ended():
    failed = {**_processing(5, 5), "status": "failed", "error": "Not usable.", "problems": ["x"]}

    assert follow_preparation(_service([failed]), "d1", _terminal(), poll_every=0) == failed


def test_nothing_is_drawn_where_a_live_display_cannot_redraw():
    console = Console(file=io.StringIO(), force_terminal=False)

    follow_preparation(_service([_processing(10, 30), READY]), "d1", console, poll_every=0)

    assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_an_outage_is_announced_once_and_waited_out():
    outage = httpx.ConnectError("connection refused")
    reconnects: list[ServiceError] = []
    service = _service([_processing(10, 30), outage, outage, _processing(20, 30), READY])

    dataset = follow_preparation(
        service, "d1", _terminal(), on_reconnect=reconnects.append, poll_every=0
    )

    assert dataset == READY
    assert len(reconnects) == 1 and "Cannot reach the service" in str(reconnects[0])


def test_a_refusal_ends_the_following_at_once():
    missing = httpx.Response(404, json={"detail": "No dataset with id 'd1'."})

    with pytest.raises(ServiceError, match="No dataset with id 'd1'"):
        follow_preparation(_service([missing]), "d1", _terminal(), poll_every=0)


def test_the_table_shows_each_datasets_status_and_what_is_known_of_it():
    console = Console(file=io.StringIO(), width=200)

    console.print(datasets_table([_processing(1200, 3000), READY], 2))

    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    processing, ready = (next(line for line in lines if tag in line) for tag in ("1200", "2400"))
    assert "processing 1200/3000" in processing and "32x32" not in processing
    assert "ready" in ready and "2: daisy, rose" in ready and "32x32x3" in ready
