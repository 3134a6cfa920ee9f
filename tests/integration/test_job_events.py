"""A real job followed over its Server-Sent Events stream, as the CLI and dashboard follow it."""

import pytest

from tests.app.test_job_events import read_events

pytestmark = pytest.mark.slow


def test_the_event_stream_shows_a_real_job_from_queue_to_outcome(service, make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=200, test_per_class=10)
    with service.client() as client:
        upload = client.post("/datasets", files={"file": ("d.tar.gz", archive.read_bytes())})
        assert upload.status_code == 201, upload.text
        body = {"dataset": upload.json()["id"], "epochs": 2, "batch_size": 16, "seed": 3}
        job_id = client.post("/train", json=body).json()["id"]

        with client.stream("GET", f"/jobs/{job_id}/events", timeout=300) as response:
            assert response.status_code == 200
            events = list(read_events(response.iter_lines()))

        final = client.get(f"/jobs/{job_id}").json()

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
