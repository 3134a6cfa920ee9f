import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.logs import JOB_LOG_FILE, job_log_file, job_logger
from core.status import JobStatus
from core.tuning import Intervals

WORKER = "test-worker"


def progress(epoch: int, step: int) -> dict:
    return {"epoch": epoch, "epochs": 2, "step": step, "steps": 10, "fraction": step / 20,
            "images_per_second": 100.0, "eta_seconds": 3.0}  # fmt: skip


def epoch_record(epoch: int) -> dict:
    return {"epoch": epoch, "loss": 1.5, "accuracy": 0.4, "val_loss": 1.6, "val_accuracy": 0.35,
            "seconds": 2.0}  # fmt: skip


@pytest.fixture
def quick_client(settings) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"intervals": Intervals(events_poll_seconds=0.02)})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def read_events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    """The (event, data) pairs of a Server-Sent Events stream; keep-alive comments skipped."""
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if event is not None:
                yield event, json.loads("\n".join(data))
            event, data = None, []
        elif line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))


def test_a_followed_job_streams_each_change_then_its_outcome_and_closes(quick_client):
    job_id = quick_client.post("/train", json={"epochs": 2}).json()["id"]
    jobs = quick_client.app.state.services.jobs

    with quick_client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response.iter_lines())

        kind, state = next(events)
        assert (kind, state["id"], state["status"]) == ("state", job_id, "queued")

        assert jobs.claim_next_job(WORKER, heartbeat_timeout=60, max_attempts=3).id == job_id
        assert next(events) == ("status", {"status": "running"})

        jobs.record_progress(job_id, progress(1, 4))
        assert next(events) == ("progress", {"status": "running", "progress": progress(1, 4)})

        jobs.record_epoch(job_id, epoch_record(1), progress(1, 10))
        assert next(events) == ("epoch", epoch_record(1))
        assert next(events) == ("progress", {"status": "running", "progress": progress(1, 10)})

        jobs.finish_job(job_id, JobStatus.FAILED, error=RuntimeError("boom"), worker_id=WORKER)
        kind, outcome = next(events)
        assert (kind, outcome["status"]) == ("end", "failed")
        assert outcome["error"] == {"type": "RuntimeError", "message": "boom"}
        assert [epoch["epoch"] for epoch in outcome["history"]] == [1]
        assert list(events) == []  # the server closed the stream


def test_a_late_client_gets_the_current_state_first(quick_client):
    job_id = quick_client.post("/train", json={"epochs": 2}).json()["id"]
    jobs = quick_client.app.state.services.jobs
    jobs.claim_next_job(WORKER, heartbeat_timeout=60, max_attempts=3)
    jobs.record_epoch(job_id, epoch_record(1), progress(1, 10))
    jobs.request_cancel(job_id)
    jobs.finish_job(job_id, JobStatus.CANCELLED, worker_id=WORKER)

    with quick_client.stream("GET", f"/jobs/{job_id}/events") as response:
        events = list(read_events(response.iter_lines()))

    assert [kind for kind, _ in events] == ["state", "end"]
    state, outcome = events[0][1], events[1][1]
    assert state["history"][0]["epoch"] == 1 and state["progress"] == progress(1, 10)
    assert outcome["status"] == "cancelled"


def test_events_of_an_unknown_job_are_a_404(quick_client):
    response = quick_client.get("/jobs/nope/events")

    assert response.status_code == 404
    assert response.json()["detail"] == "No job with id 'nope'."


def test_logs_of_a_job_are_its_worker_records_paged_by_offset(client, settings):
    job_id = client.post("/train", json={"epochs": 2}).json()["id"]
    worker_log = logging.getLogger("worker")
    with job_log_file(settings.job_dir(job_id), "worker"):
        job_logger("worker", job_id).info("job started", extra={"attempt": 1})
        worker_log.warning("something the job should know")
    worker_log.warning("after the job: not in its log")
    with (settings.job_dir(job_id) / JOB_LOG_FILE).open("a") as log:
        log.write('{"time": "2026-11-26", "message": "cut sh')  # a crash mid-write

    everything = client.get(f"/jobs/{job_id}/logs")
    page = client.get(f"/jobs/{job_id}/logs", params={"offset": 1, "limit": 1}).json()

    assert everything.status_code == 200
    body = everything.json()
    assert body["count"] == 3 and body["offset"] == 0
    started, warning, cut = body["data"]
    assert started["message"] == "job started" and started["job_id"] == job_id
    assert started["level"] == "INFO" and started["attempt"] == 1 and started["process"] == "worker"
    assert (warning["level"], warning["logger"]) == ("WARNING", "worker")
    assert cut == {"message": '{"time": "2026-11-26", "message": "cut sh'}
    assert page == {"data": [warning], "count": 3, "offset": 1}


def test_logs_of_a_job_not_started_yet_are_empty_and_of_an_unknown_one_a_404(client):
    job_id = client.post("/train", json={"epochs": 2}).json()["id"]

    assert client.get(f"/jobs/{job_id}/logs").json() == {"data": [], "count": 0, "offset": 0}
    assert client.get("/jobs/nope/logs").status_code == 404
    assert client.get(f"/jobs/{job_id}/logs", params={"limit": 0}).status_code == 422
