"""A real job followed over its Server-Sent Events stream, as the CLI and dashboard follow it."""

import signal

import pytest

from devkit.datasets import upload_dataset, wait_until_prepared
from tests.app.test_job_events import read_events
from tests.integration.running import start_service, stop_service

pytestmark = pytest.mark.slow


def test_the_event_stream_shows_a_real_job_from_queue_to_outcome(service, make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=200, test_per_class=10)
    with service.client() as client:
        dataset = wait_until_prepared(client, upload_dataset(client, archive)["id"])
        body = {"dataset": dataset["id"], "epochs": 2, "batch_size": 16, "seed": 3}
        job_id = client.post("/train", json=body).json()["id"]

        with client.stream("GET", f"/jobs/{job_id}/events", timeout=300) as response:
            assert response.status_code == 200
            events = list(read_events(response.iter_lines()))

        final = client.get(f"/jobs/{job_id}").json()
        log = client.get(f"/jobs/{job_id}/logs").json()["data"]

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "state" and kinds[-1] == "end"
    outcome = events[-1][1]
    assert outcome["status"] == "succeeded", outcome["error"]
    assert outcome == final
    epochs = [data for kind, data in events if kind == "epoch"]
    assert epochs == final["history"] and [e["epoch"] for e in epochs] == [1, 2]
    fractions = [data["progress"]["fraction"] for kind, data in events if kind == "progress"]
    assert len(fractions) >= 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0 < fraction < 0.5 for fraction in fractions)  # seen within the first epoch
    messages = [record["message"] for record in log]
    assert messages[0] == "job started" and messages[-1] == "job succeeded"
    finished = [record for record in log if record["message"] == "epoch finished"]
    assert [(r["epoch"], r["epochs"], r["val_accuracy"]) for r in finished] == [
        (epoch["epoch"], 2, epoch["val_accuracy"]) for epoch in final["history"]
    ]
    # MirroredStrategy's notes on each step's reduction, at INFO, stay out of the job's log.
    assert not [record for record in log if record["logger"] == "tensorflow"]


@pytest.mark.parametrize("processes", [1, 2])
def test_stopping_the_server_ends_open_streams_instead_of_waiting_for_them(tmp_path, processes):
    # Without a worker the job stays queued, so its stream would stay open for good.
    running = start_service(
        tmp_path / "var",
        tmp_path / "service.log",
        START_WORKER="false",
        API_PROCESSES=str(processes),
    )
    try:
        with running.client() as client:
            job_id = client.post("/train", json={"epochs": 1}).json()["id"]
            # A read timeout shorter than the 15 s keep-alive: a stream left open fails the test.
            with client.stream("GET", f"/jobs/{job_id}/events", timeout=10) as response:
                events = read_events(response.iter_lines())
                assert next(events)[0] == "state"
                running.process.send_signal(signal.SIGTERM)
                rest = list(events)  # returns once the server closes the stream

            # One uvicorn process re-raises the signal once it has shut down; with several, the
            # parent exits cleanly once they all have.
            expected = -signal.SIGTERM if processes == 1 else 0
            assert running.process.wait(timeout=60) == expected
    finally:
        stop_service(running)

    assert rest == []  # no `end`: the job goes on; a client reconnects to the next server
