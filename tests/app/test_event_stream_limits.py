"""Job event streams are bounded per client and in all; a stream that ends frees its place."""

import asyncio
import http.client
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from app.job_events import SharedJobReads
from app.main import create_app
from core.status import JobStatus
from core.tuning import Intervals
from tests.app.conftest import served

KEYS = {"first-key-0123456789": "predict", "second-key-0123456789": "predict"}
FIRST, SECOND = ({"authorization": f"Bearer {key}"} for key in KEYS)
WORKER = "test-worker"


def _bounded(settings, most: int, most_per_client: int, **changes):
    return settings.model_copy(
        update={
            "max_event_streams": most,
            "max_event_streams_per_client": most_per_client,
            "intervals": Intervals(events_poll_seconds=0.02),
            **changes,
        }
    )


@pytest.fixture
def job_id(settings) -> str:
    with TestClient(create_app(settings)) as client:
        return client.post("/train", json={"epochs": 1}).json()["id"]


def _open(client: TestClient, streams: ExitStack, job_id: str, headers=None):
    response = streams.enter_context(
        client.stream("GET", f"/jobs/{job_id}/events", headers=headers or {})
    )
    if response.status_code == 200:
        next(response.iter_lines())  # the stream is under way
    else:
        response.read()
    return response


def _assert_refused(response) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == "15"
    body = response.json()
    assert body["type"] == "too_many_requests" and "event streams open" in body["detail"]


def test_one_client_may_hold_only_so_many_streams(settings, job_id):
    settings = _bounded(settings, most=10, most_per_client=2, api_keys=KEYS)
    with TestClient(create_app(settings)) as client, ExitStack() as streams:
        opened = [_open(client, streams, job_id, FIRST) for _ in range(2)]
        refused = _open(client, streams, job_id, FIRST)
        other_client = _open(client, streams, job_id, SECOND)

        assert [response.status_code for response in opened] == [200, 200]
        _assert_refused(refused)
        assert other_client.status_code == 200


def test_the_server_holds_only_so_many_streams_in_all(settings, job_id):
    settings = _bounded(settings, most=2, most_per_client=10, api_keys=KEYS)
    with TestClient(create_app(settings)) as client, ExitStack() as streams:
        opened = [_open(client, streams, job_id, FIRST), _open(client, streams, job_id, SECOND)]
        refused = _open(client, streams, job_id, SECOND)

        assert [response.status_code for response in opened] == [200, 200]
        _assert_refused(refused)


def test_a_stream_that_ends_frees_its_place(settings, job_id):
    settings = _bounded(settings, most=10, most_per_client=1)
    app = create_app(settings)
    with TestClient(app) as client, ExitStack() as streams:
        jobs = app.state.services.jobs
        with client.stream("GET", f"/jobs/{job_id}/events") as first:
            lines = first.iter_lines()
            next(lines)
            _assert_refused(_open(client, streams, job_id))
            jobs.claim_next_job(WORKER, heartbeat_timeout=60, max_attempts=3)
            jobs.finish_job(job_id, JobStatus.FAILED, error=RuntimeError("x"), worker_id=WORKER)
            assert "event: end" in list(lines)  # the server ended the stream

        again = client.get(f"/jobs/{job_id}/events")

    assert again.status_code == 200


def _stream_over_http(address: tuple[str, int], job_id: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(*address, timeout=10)
    connection.request("GET", f"/jobs/{job_id}/events")
    return connection.getresponse()


def _until_open(address: tuple[str, int], job_id: str) -> Iterator[int]:
    deadline = time.monotonic() + 5
    while True:
        response = _stream_over_http(address, job_id)
        yield response.status
        response.close()
        if response.status == 200 or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def test_a_client_that_leaves_frees_its_place(settings, job_id):
    settings = _bounded(settings, most=10, most_per_client=1)
    with served(create_app(settings)) as address:
        first = _stream_over_http(address, job_id)
        assert first.status == 200 and first.readline().startswith(b"event: state")
        assert _stream_over_http(address, job_id).status == 429

        first.close()  # the client goes away; the job goes on
        statuses = list(_until_open(address, job_id))

    assert statuses[-1] == 200, statuses


def test_a_head_of_an_event_stream_frees_its_place_at_once(settings, job_id):
    settings = _bounded(settings, most=10, most_per_client=1)
    with served(create_app(settings)) as address:
        connection = http.client.HTTPConnection(*address, timeout=10)
        for _ in range(3):
            connection.request("HEAD", f"/jobs/{job_id}/events")
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b"")

        following = _stream_over_http(address, job_id)
        assert following.status == 200
        assert _stream_over_http(address, job_id).status == 429


def test_streams_of_one_job_share_its_reads(job_store, make_job):
    job = make_job(epochs=1)
    reads = []
    job_store_get_job = job_store.get_job

    def counted_get_job(job_id):
        reads.append(job_id)
        return job_store_get_job(job_id)

    job_store.get_job = counted_get_job
    shared = SharedJobReads(job_store, fresh_seconds=60)

    async def many_streams_poll():
        return await asyncio.gather(*(shared.get_job(job.id) for _ in range(50)))

    followed = asyncio.run(many_streams_poll())
    stale = SharedJobReads(job_store, fresh_seconds=0)
    asyncio.run(stale.get_job(job.id))
    asyncio.run(stale.get_job(job.id))

    assert {seen.id for seen in followed} == {job.id}
    assert len(reads) == 3  # one for the fifty, then one each once a read is stale
