"""`API_PROCESSES=2`: two serving processes on one port, one training worker for both."""

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
from uvicorn.config import STARTUP_FAILURE

from core.settings import Settings
from devkit.datasets import upload_dataset, wait_until_prepared
from devkit.processes import child_pids, free_port
from devkit.samples import REPO_ROOT, cifar_samples
from devkit.saved_models import save_untrained_model
from tests.app.test_job_events import read_events
from tests.integration.running import (
    kill_if_running,
    start_service,
    stop_service,
    wait_for_exit,
    wait_for_job,
    worker_pids,
)

pytestmark = pytest.mark.slow


def serving_pids(parent: int) -> list[int]:
    """The parent's children that uvicorn spawned to serve (multiprocessing's spawn)."""
    return child_pids(parent, b"--multiprocessing-fork")


def wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def counted(client, series: str) -> float:
    """A series' value in /metrics, which adds up every serving process."""
    found = re.search(rf"^{re.escape(series)} (\S+)$", client.get("/metrics").text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def counted_requests(client, route: str) -> float:
    return counted(client, f'http_requests_total{{method="GET",route="{route}",status="200"}}')


def test_two_processes_serve_one_worker_trains_and_metrics_add_up(tmp_path, make_archive):
    service = start_service(tmp_path / "var", tmp_path / "service.log", API_PROCESSES="2")
    try:
        parent = service.process.pid
        first_servers = wait_for(
            lambda: len(serving_pids(parent)) == 2 and serving_pids(parent), "2 servers"
        )
        assert len(worker_pids(parent)) == 1  # one training worker, however many serve
        with service.client() as client:
            wait_for(lambda: client.get("/healthz").json()["worker"] == "running", "worker running")

            archive = make_archive(["cat", "ship"], train_per_class=30, test_per_class=5)
            dataset = wait_until_prepared(client, upload_dataset(client, archive)["id"])
            assert dataset["status"] == "ready", dataset
            body = {"dataset": dataset["id"], "epochs": 1, "batch_size": 16, "seed": 1}
            job, _ = wait_for_job(client, client.post("/train", json=body).json()["id"])
            assert job["status"] == "succeeded", job["error"]
            # One epoch may score at chance on ten test images, and such a version is never
            # promoted by its job: what is tested here is the processes, so it is set by hand.
            model = client.get(f"/models/{job['model_id']}").json()
            moved = client.put(
                f"/model-names/{model['name']}/aliases/production",
                json={"version": model["version"]},
            )
            assert moved.status_code == 200, moved.text

        # Every request on a new connection, which either process may take.
        image = cifar_samples()["test"]["ship"][0]
        answers = []
        for _ in range(12):
            with service.client() as client:
                response = client.post("/predict", files={"file": ("s.jpg", image, "image/jpeg")})
                assert response.status_code == 200, response.text
                answers.append(response.json())
                client.get("/models")
        assert {answer["model_id"] for answer in answers} == {job["model_id"]}
        assert all(answer == answers[0] for answer in answers)  # the same model in each process

        with service.client() as client:
            wait_for(lambda: counted(client, "model_load_seconds_count") == 2, "a load in each")

        # A serving process that dies is replaced; what it counted still counts. The replacement
        # takes requests once it has loaded the model, so readiness never drops meanwhile.
        os.kill(first_servers[0], signal.SIGKILL)
        readiness = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with service.client() as client:  # a new connection: either process may take it
                readiness.append(client.get("/readyz").status_code)
                if counted(client, "model_load_seconds_count") == 3:
                    break
        else:
            raise AssertionError("no replacement loaded the model within 120 s")
        assert set(readiness) == {200}
        assert first_servers[0] not in serving_pids(parent) and len(serving_pids(parent)) == 2
        for _ in range(12):
            with service.client() as client:
                assert client.get("/models").status_code == 200
        with service.client() as client:
            assert counted_requests(client, "/models") == 24
            assert client.get("/healthz").json()["worker"] == "running"
        (worker,) = worker_pids(parent)

        # SIGHUP replaces the serving processes one at a time, each new one ready before an old
        # one goes: a reload (of new code, say) without a failed request, not even one sent to a
        # connection an old process accepted in the instant it stopped (app/graceful_http.py).
        # The worker stays.
        before = set(serving_pids(parent))
        service.process.send_signal(signal.SIGHUP)
        statuses = []
        deadline = time.monotonic() + 180
        while not (len(serving_pids(parent)) == 2 and before.isdisjoint(serving_pids(parent))):
            assert time.monotonic() < deadline, "the serving processes were not replaced"
            with service.client() as client:
                response = client.post("/predict", files={"file": ("s.jpg", image, "image/jpeg")})
                statuses.append(response.status_code)
        assert statuses and set(statuses) == {200}
        assert worker_pids(parent) == [worker]
    finally:
        stop_service(service)
    assert service.process.returncode == 0
    assert worker_pids(parent) == [] and serving_pids(parent) == []


def test_the_worker_ends_when_the_parent_that_supervises_it_is_killed(tmp_path):
    # Here the worker is started from a thread of the parent's own, not its main thread.
    service = start_service(tmp_path / "var", tmp_path / "service.log", API_PROCESSES="2")
    parent = service.process.pid
    servers = wait_for(lambda: len(serving_pids(parent)) == 2 and serving_pids(parent), "servers")
    (worker,) = worker_pids(parent)
    with service.client() as client:
        wait_for(lambda: client.get("/healthz").json()["worker"] == "running", "worker running")
    service.process.kill()
    service.process.wait()
    try:
        assert wait_for_exit(worker, timeout=60), "the worker outlived the app that started it"
    finally:
        kill_if_running([worker, *servers])  # a safety net: the serving processes end by themselves

    assert "the app that supervises this worker is gone" in service.log.read_text()


def test_the_api_processes_end_when_their_parent_is_killed(tmp_path):
    # Without a worker the job stays queued, so its event stream would stay open for good.
    service = start_service(
        tmp_path / "var", tmp_path / "service.log", API_PROCESSES="2", START_WORKER="false"
    )
    parent = service.process.pid
    servers = wait_for(lambda: len(serving_pids(parent)) == 2 and serving_pids(parent), "servers")
    try:
        with service.client() as client:
            job_id = client.post("/train", json={"epochs": 1}).json()["id"]
            # A read timeout shorter than the grace period (and the 15 s keep-alive): the stream
            # ends as on a SIGTERM, not by a hard exit.
            with client.stream("GET", f"/jobs/{job_id}/events", timeout=10) as response:
                events = read_events(response.iter_lines())
                assert next(events)[0] == "state"
                service.process.kill()
                service.process.wait()
                rest = list(events)  # returns once the orphaned server closes the stream
        for server in servers:
            assert wait_for_exit(server, timeout=60), "a serving process outlived its parent"
    finally:
        service.process.kill()
        kill_if_running(servers)  # only if the assertions above failed

    assert rest == []
    log = service.log.read_text()
    gone = "the process manager that started this serving process is gone; shutting down"
    assert log.count(gone) == 2
    assert "did not stop within its grace period" not in log
    with pytest.raises(httpx.ConnectError):  # the port is free for a restarted app
        httpx.get(f"{service.url}/healthz", timeout=5)


def test_a_setting_that_stops_every_process_starting_stops_the_service(tmp_path):
    # Each serving process fails at its start (no database there): restarting them would loop.
    environment = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "var"),
        "PORT": str(free_port()),
        "API_PROCESSES": "2",
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
    }
    started = subprocess.run(
        [sys.executable, "-m", "app"], cwd=REPO_ROOT, env=environment, capture_output=True
    )
    assert started.returncode == STARTUP_FAILURE, started.stderr.decode()[-2000:]
    assert b"failed to start" in started.stderr


def serving_versions(client) -> dict[str, str]:
    """Each serving process (by pid) and the version it answers requests naming no model with."""
    serving = re.finditer(
        r'^serving_model\{(?=[^}]*pid="(\d+)")(?=[^}]*version="(\d+)")[^}]*\} 1\.0$',
        client.get("/metrics").text,
        re.MULTILINE,
    )
    return {pid: version for pid, version in (found.groups() for found in serving)}


def test_every_serving_process_follows_a_move_of_production(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", _env_file=None)
    first = save_untrained_model(settings, ["cat", "ship"], name="pets")
    second = save_untrained_model(settings, ["cat", "ship"], name="pets")
    service = start_service(
        tmp_path / "var",
        tmp_path / "service.log",
        API_PROCESSES="2",
        START_WORKER="false",
        INTERVALS__MODEL_POLL_SECONDS="1",
    )
    try:
        parent = service.process.pid
        servers = wait_for(lambda: len(serving_pids(parent)) == 2 and serving_pids(parent), "2")
        with service.client() as client:
            expected = {str(pid): "1" for pid in servers}
            wait_for(lambda: serving_versions(client) == expected, "both serve version 1")
            moved = client.put("/model-names/pets/aliases/production", json={"version": 2})
            assert moved.status_code == 200, moved.text
            # Within a poll interval each process loads the new version, then switches; the
            # allowance beyond the interval is for loading it on a busy machine.
            expected = {str(pid): "2" for pid in servers}
            wait_for(lambda: serving_versions(client) == expected, "both serve version 2", 30)
        image = cifar_samples()["test"]["ship"][0]
        for _ in range(8):  # new connections, which either process may take
            with service.client() as client:
                response = client.post("/predict", files={"file": ("s.jpg", image, "image/jpeg")})
                assert response.status_code == 200, response.text
                assert response.json()["model_id"] == second.id != first.id
    finally:
        stop_service(service)
