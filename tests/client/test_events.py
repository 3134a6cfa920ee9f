"""Reading a job's event stream: a stream recorded from the service (with one keep-alive
comment added, as FastAPI sends on a quiet stream), replayed over a real local socket."""

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from httpx_sse import EventSource
from rich.console import Console

from client.api import ServiceClient, ServiceError
from client.events import JobEvent, decode_events, follow_job
from client.progress import TrainingDisplay
from devkit.processes import free_port

RECORDED = (Path(__file__).parent / "data" / "job_events.txt").read_text()
# Cut inside the second epoch's progress, mid-message, as a server killed there leaves it.
CUT_AT = RECORDED.index("event: epoch") + 300


def _source(text: str, content_type: str = "text/event-stream") -> EventSource:
    response = httpx.Response(200, headers={"content-type": content_type}, content=text.encode())
    return EventSource(response)


def _recorded_events() -> list[JobEvent]:
    return list(decode_events(_source(RECORDED)))


def test_decode_events_reads_each_event_of_a_recorded_stream():
    events = _recorded_events()

    assert [event.type for event in events] == [
        "state", "status", "progress", "progress", "progress", "epoch",
        "progress", "progress", "epoch", "progress", "end",
    ]  # fmt: skip
    assert events[0].data["status"] == "queued" and events[0].data["history"] == []
    assert events[2].data["progress"] == {
        "epoch": 1,
        "epochs": 2,
        "step": 0,
        "steps": 9,
        "fraction": 0.0,
        "images_per_second": None,
        "eta_seconds": None,
    }
    assert events[5].data["epoch"] == 1 and set(events[5].data) == {
        "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds",
    }  # fmt: skip
    assert events[-1].data["status"] == "succeeded" and events[-1].data["model_id"]


def test_an_event_whose_data_is_not_json_is_a_clear_error():
    with pytest.raises(ServiceError, match="`progress` event's data is not JSON"):
        list(decode_events(_source("event: progress\ndata: {oops\n\n")))


def test_a_response_that_is_not_an_event_stream_is_refused():
    with pytest.raises(ServiceError, match="text/event-stream"):
        list(decode_events(_source('{"detail": "x"}', content_type="application/json")))


def test_piped_display_prints_each_epoch_once_with_its_metrics():
    output = io.StringIO()
    console = Console(file=output, width=200)
    events = _recorded_events()
    epoch_one = next(e.data for e in events if e.type == "epoch")

    with TrainingDisplay(console, "job-1") as display:
        for event in events:
            display.show(event)

    lines = output.getvalue().splitlines()
    assert lines[:2] == ["Job job-1 queued", "Job job-1 running"]
    assert [line.split("  ")[0] for line in lines[2:]] == ["Epoch 1/2", "Epoch 2/2"]
    assert f"loss {epoch_one['loss']:.4f}  acc {epoch_one['accuracy']:.4f}" in lines[2]
    assert lines[2].endswith(f"{epoch_one['seconds']:.1f} s")  # the end's history: no repeats


def test_terminal_display_draws_a_bar_per_epoch_with_its_metrics():
    output = io.StringIO()
    console = Console(file=output, width=160, force_terminal=True, color_system=None)
    events = _recorded_events()
    last_epoch = [e.data for e in events if e.type == "epoch"][-1]

    with TrainingDisplay(console, "job-1") as display:
        for event in events[:4]:
            display.show(event)
        console.file.flush()
        mid_epoch = output.getvalue()
        for event in events[4:]:
            display.show(event)

    final = output.getvalue().rsplit("Epoch 1/2", 1)[-1]  # the last frame drawn
    assert "1/9" in mid_epoch and "ETA 0:01:" in mid_epoch
    assert "Epoch 2/2" in final and final.count("9/9") == 2
    assert f"val_acc {last_epoch['val_accuracy']:.4f}" in final


class _Replay(BaseHTTPRequestHandler):
    """Answers GET /jobs/<id>/events with the recording: cut short on the first connection
    (`server.breaks` times), then whole."""

    def do_GET(self) -> None:
        self.server.connections += 1  # type: ignore[attr-defined]
        if self.server.refuse:  # type: ignore[attr-defined]
            body = json.dumps({"detail": "No job with id 'x'.", "type": "not_found"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        breaking = self.server.connections <= self.server.breaks  # type: ignore[attr-defined]
        text = (RECORDED[:CUT_AT] if breaking else RECORDED).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(f"{len(text):x}\r\n".encode() + text + b"\r\n")
        if not breaking:
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True  # a cut stream: no final chunk, then the socket closes

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def replay() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    server.connections, server.breaks, server.refuse = 0, 1, False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server: ThreadingHTTPServer) -> ServiceClient:
    return ServiceClient(f"http://127.0.0.1:{server.server_address[1]}")


def test_follow_job_reconnects_after_a_broken_stream_and_resyncs(replay):
    problems: list[ServiceError] = []
    output = io.StringIO()

    with _client(replay) as service, TrainingDisplay(Console(file=output), "j") as display:
        events = list(follow_job(service, "j", on_reconnect=problems.append, retry_every=0.05))
        for event in events:
            display.show(event)

    assert replay.connections == 2
    assert len(problems) == 1 and problems[0].status is None
    assert "Cannot reach the service" in str(problems[0])
    assert [event.type for event in events].count("state") == 2  # the second stream re-syncs
    assert events[-1].type == "end" and events[-1].data["status"] == "succeeded"
    epoch_lines = [line for line in output.getvalue().splitlines() if line.startswith("Epoch")]
    assert [line[:9] for line in epoch_lines] == ["Epoch 1/2", "Epoch 2/2"]


def test_follow_job_does_not_retry_a_refusal(replay):
    replay.refuse = True

    with _client(replay) as service, pytest.raises(ServiceError) as refused:
        list(follow_job(service, "x", retry_every=0.05))

    assert refused.value.status == 404 and refused.value.detail == "No job with id 'x'."
    assert str(refused.value) == "No job with id 'x'. (HTTP 404)"
    assert replay.connections == 1


def test_follow_job_gives_up_on_a_service_that_stays_unreachable():
    problems: list[ServiceError] = []
    service = ServiceClient(f"http://127.0.0.1:{free_port()}")

    with pytest.raises(ServiceError, match=r"Cannot reach the service at http://127\.0\.0\.1:"):
        list(follow_job(service, "j", problems.append, give_up_after=0.3, retry_every=0.05))

    assert len(problems) == 1  # told once per outage, not at every try
