"""Job control and crash recovery with real processes: the HTTP server, its supervised worker,
signals sent to that worker, and standalone workers sharing one PostgreSQL queue."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.db import create_session_factory
from core.job_store import JobStore
from core.settings import Settings
from devkit.datasets import add_ready_dataset, upload_dataset, wait_until_prepared
from devkit.processes import child_pids
from devkit.samples import REPO_ROOT, cifar_samples, write_image_folder_archive
from tests.integration.running import (
    RunningService,
    kill_if_running,
    start_service,
    start_service_in_terminal,
    stop_service,
    wait_for_exit,
    wait_for_job,
    worker_pids,
)

pytestmark = pytest.mark.slow

CLASSES = ["airplane", "automobile", "cat", "ship"]
# Quick to notice a dead worker, so a test does not wait a minute for the reclaim.
FAST_RECOVERY = {
    "INTERVALS__HEARTBEAT_SECONDS": "0.5",
    "HEARTBEAT_TIMEOUT_SECONDS": "4",
    "CPU_REPLICAS": "0",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def recovering_service(request, tmp_path: Path) -> Iterator[RunningService]:
    env = dict(FAST_RECOVERY)
    if request.param == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_database_url")
    running = start_service(tmp_path / "var", tmp_path / "service.log", **env)
    try:
        yield running
    finally:
        stop_service(running)


@pytest.fixture
def slow_epochs_dataset(make_archive) -> bytes:
    """About two thousand images: epochs of a few seconds on two CPU cores, long enough to
    interrupt one in the middle."""
    return make_archive(CLASSES, train_per_class=500, test_per_class=20).read_bytes()


@pytest.fixture(scope="module")
def slow_preparation_archive(tmp_path_factory) -> Path:
    """Three thousand images, each resized to 96x96 (`image_size`) as it is decoded: several
    seconds of preparation, long enough to interrupt it in the middle."""
    path = tmp_path_factory.mktemp("slow") / "slow.tar.gz"
    return write_image_folder_archive(path, CLASSES[:3], train_per_class=1000)


def _upload(client: httpx.Client, archive: bytes) -> str:
    response = client.post("/datasets", files={"file": ("d.tar.gz", archive, "application/gzip")})
    assert response.status_code == 202, response.text
    dataset = wait_until_prepared(client, response.json()["id"])
    assert dataset["status"] == "ready", dataset
    return dataset["id"]


def _upload_slow_preparation(client: httpx.Client, archive: Path) -> dict:
    """Upload and wait until its images are being decoded."""
    dataset = upload_dataset(client, archive, image_size="96")
    deadline = time.monotonic() + 120
    while not (client.get(f"/datasets/{dataset['id']}").json()["progress"] or {}).get("total"):
        assert time.monotonic() < deadline, "the dataset's preparation did not start"
        time.sleep(0.1)
    return dataset


def _train(client: httpx.Client, dataset: str, epochs: int) -> str:
    body = {"dataset": dataset, "epochs": epochs, "batch_size": 16, "seed": 7}
    response = client.post("/train", json=body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _wait_until(client: httpx.Client, job_id: str, condition, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if condition(job):
            return job
        assert job["status"] not in ("succeeded", "failed", "cancelled"), job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached the state; last: {job}")


def _in_epoch(epoch: int):
    def condition(job: dict) -> bool:
        progress = job["progress"] or {}
        return progress.get("epoch") == epoch and (progress.get("step") or 0) > 0

    return condition


def test_a_worker_killed_mid_epoch_is_replaced_and_the_job_resumes(
    recovering_service, slow_epochs_dataset
):
    with recovering_service.client() as client:
        job_id = _train(client, _upload(client, slow_epochs_dataset), epochs=3)
        before_kill = _wait_until(client, job_id, _in_epoch(2))
        (worker,) = worker_pids(recovering_service.process.pid)
        (training,) = child_pids(worker, b"worker.training_process")
        os.kill(worker, signal.SIGKILL)

        job, _ = wait_for_job(client, job_id)
        log = client.get(f"/jobs/{job_id}/logs").json()["data"]
    assert wait_for_exit(training, timeout=60), "the training process outlived its worker"

    assert job["status"] == "succeeded", job["error"]
    assert [epoch["epoch"] for epoch in job["history"]] == [1, 2, 3]
    assert job["history"][0] == before_kill["history"][0]  # epoch 1 was not trained again
    # The killed worker's training process handed the job back at its next batch, rather than
    # leave it to be reclaimed once its heartbeat lapsed: a clean hand-back, which uses up no
    # attempt. Both workers' records are in the job's log.
    handed_back = [r for r in log if r["message"].startswith("job handed back")]
    assert len(handed_back) == 1
    assert [r["attempt"] for r in log if r["message"] == "job started"] == [1, 1]
    assert [r["from_epoch"] for r in log if r["message"] == "resuming"] == [1]
    assert log[-1]["message"] == "job succeeded" and log[-1]["job_id"] == job_id
    assert job["attempts"] == 1
    assert job["runtime"]["resumed_from_epoch"] == 1
    assert job["model_id"] is not None and 0 <= job["test_accuracy"] <= 1


def test_sigterm_hands_the_job_back_and_the_restarted_worker_resumes_it(
    recovering_service, slow_epochs_dataset
):
    with recovering_service.client() as client:
        job_id = _train(client, _upload(client, slow_epochs_dataset), epochs=3)
        _wait_until(client, job_id, _in_epoch(2))
        (worker,) = worker_pids(recovering_service.process.pid)
        os.kill(worker, signal.SIGTERM)

        job, _ = wait_for_job(client, job_id)
        # The "queued" moment between hand-back and reclaim can be shorter than a poll, so the
        # evidence is the log line, the replaced worker process and the unchanged attempt count.
        (replacement,) = worker_pids(recovering_service.process.pid)

    assert replacement != worker
    assert job["status"] == "succeeded", job["error"]
    assert [epoch["epoch"] for epoch in job["history"]] == [1, 2, 3]
    assert job["attempts"] == 1  # a clean hand-back does not use up an attempt
    assert job["runtime"]["resumed_from_epoch"] == 1
    assert "job handed back to the queue" in recovering_service.log.read_text()


def test_ctrl_c_hands_the_job_back_cleanly_and_stops_the_service(
    tmp_path: Path, slow_epochs_dataset
):
    data_dir = tmp_path / "var"
    service = start_service_in_terminal(data_dir, tmp_path / "service.log", **FAST_RECOVERY)
    try:
        with service.client() as client:
            job_id = _train(client, _upload(client, slow_epochs_dataset), epochs=3)
            _wait_until(client, job_id, _in_epoch(2))
        # What Ctrl-C in the terminal that runs `make run` sends: SIGINT to its process group.
        os.killpg(service.process.pid, signal.SIGINT)
        service.process.wait(60)
    finally:
        stop_service(service)

    log = service.log.read_text()
    assert "job handed back to the queue" in log
    assert "training process crashed" not in log
    jobs = JobStore(create_session_factory(Settings(data_dir=data_dir, _env_file=None)))
    job = jobs.get_job(job_id)
    assert (job.status, job.attempts) == ("queued", 0)  # handed back, no attempt used


def test_a_killed_app_takes_its_worker_down_and_the_job_goes_back_to_the_queue(
    tmp_path: Path, slow_epochs_dataset
):
    data_dir, log = tmp_path / "var", tmp_path / "service.log"
    first = start_service(data_dir, log, **FAST_RECOVERY)
    with first.client() as client:
        job_id = _train(client, _upload(client, slow_epochs_dataset), epochs=3)
        _wait_until(client, job_id, _in_epoch(2))
    (worker,) = worker_pids(first.process.pid)
    (training,) = child_pids(worker, b"worker.training_process")
    first.process.kill()
    first.process.wait()
    try:
        # A worker left behind would train on, beside the one the restarted app starts.
        assert wait_for_exit(worker, timeout=60), "the worker outlived the app that started it"
        assert wait_for_exit(training, timeout=60), "the training process outlived its worker"
    finally:
        kill_if_running([worker, training])
    worker_log = log.read_text()  # the worker writes to the app's standard error
    assert "the app that supervises this worker is gone" in worker_log
    assert "job handed back to the queue" in worker_log

    second = start_service(data_dir, tmp_path / "restarted.log", **FAST_RECOVERY)
    try:
        with second.client() as client:
            job, _ = wait_for_job(client, job_id)
    finally:
        stop_service(second)

    assert job["status"] == "succeeded", job["error"]
    assert [epoch["epoch"] for epoch in job["history"]] == [1, 2, 3]
    assert job["attempts"] == 1  # handed back, not reclaimed once its heartbeat lapsed
    assert job["runtime"]["resumed_from_epoch"] == 1


def test_cancel_stops_a_running_job_and_the_worker_goes_on(service, slow_epochs_dataset):
    with service.client() as client:
        dataset = _upload(client, slow_epochs_dataset)
        long_job = _train(client, dataset, epochs=50)
        _wait_until(client, long_job, _in_epoch(1))

        response = client.post(f"/jobs/{long_job}/cancel")
        assert response.status_code == 202
        cancelled, _ = wait_for_job(client, long_job, timeout=60)
        assert client.post(f"/jobs/{long_job}/cancel").status_code == 409
        next_job, _ = wait_for_job(client, _train(client, dataset, epochs=1))
        assert client.delete(f"/jobs/{long_job}").status_code == 204
        assert client.get(f"/jobs/{long_job}").status_code == 404

    assert cancelled["status"] == "cancelled" and cancelled["error"] is None
    assert len(cancelled["history"]) < 50
    assert next_job["status"] == "succeeded"
    assert not (service.data_dir / "jobs" / long_job).exists()


def test_workers_racing_over_a_postgresql_queue_run_each_job_once(
    tmp_path: Path, make_archive, postgres_database_url
):
    from core.datasets.registration import register_dataset_archive
    from core.datasets.store import DatasetStore
    from core.db import create_session_factory
    from core.job_store import JobStore
    from core.schemas import TrainRequest
    from core.settings import Settings

    settings = Settings(
        data_dir=tmp_path / "var", database_url=postgres_database_url, _env_file=None
    )
    sessions = create_session_factory(settings)
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=20, test_per_class=5)
    dataset = add_ready_dataset(settings, archive, "d")
    # And uploads for the workers' preparers to race over.
    datasets = DatasetStore(sessions)
    uploads = [
        register_dataset_archive(
            make_archive(["cat", "ship"], train_per_class=10, test_per_class=2),
            "u.tar.gz",
            f"upload {i}",
            None,
            settings,
            datasets,
        ).id
        for i in range(4)
    ]
    jobs = JobStore(sessions)
    request = TrainRequest(dataset=dataset.id, epochs=1, batch_size=16, seed=1)
    job_ids = {jobs.create_job(request.resolve(seed=0)).id for _ in range(12)}

    env = {
        **os.environ,
        "DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": postgres_database_url,
        "CPU_REPLICAS": "0",
    }
    logs = [tmp_path / f"worker-{i}.log" for i in range(3)]
    workers = []
    for log in logs:
        with log.open("wb") as sink:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "worker", "--burst"],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            )
    for worker in workers:
        assert worker.wait(timeout=600) == 0

    finished = [jobs.get_job(job_id) for job_id in job_ids]
    assert {job.status for job in finished} == {"succeeded"}
    assert {job.attempts for job in finished} == {1}
    started = [
        line for log in logs for line in log.read_text().splitlines() if '"job started"' in line
    ]
    started_ids = sorted(job_id for line in started for job_id in job_ids if job_id in line)
    assert started_ids == sorted(job_ids)  # each job started exactly once, by one worker
    prepared = [datasets.get_dataset(upload) for upload in uploads]
    assert {(upload.status, upload.attempts) for upload in prepared} == {("ready", 1)}
    lines = [line for log in logs for line in log.read_text().splitlines()]
    begun = [line for line in lines if '"dataset preparation started"' in line]
    # Each prepared exactly once, by one worker.
    assert sorted(upload for line in begun for upload in uploads if upload in line) == sorted(
        uploads
    )


def test_a_worker_killed_mid_preparation_is_replaced_and_the_dataset_gets_ready(
    recovering_service, slow_preparation_archive
):
    with recovering_service.client() as client:
        dataset_id = _upload_slow_preparation(client, slow_preparation_archive)["id"]
        (worker,) = worker_pids(recovering_service.process.pid)
        children = child_pids(worker, b"core.datasets.preparation_child")
        os.kill(worker, signal.SIGKILL)
        # Its lifeline cut, the child decoding for it stops too.
        assert children and all(wait_for_exit(child, timeout=10) for child in children)

        dataset = wait_until_prepared(client, dataset_id)

    assert dataset["status"] == "ready", dataset
    assert dataset["progress"] == {"done": 3000, "total": 3000}
    assert (dataset["train_count"], dataset["image_shape"]) == (2400, [96, 96, 3])
    source = recovering_service.data_dir / "datasets" / dataset_id / "source.tar.gz"
    assert source.read_bytes() == slow_preparation_archive.read_bytes()
    log = recovering_service.log.read_text()
    assert log.count('"dataset preparation started"') == 2  # the killed worker's, its successor's


def test_restarting_the_service_mid_preparation_loses_nothing(
    tmp_path: Path, slow_preparation_archive
):
    data_dir = tmp_path / "var"
    first = start_service(data_dir, tmp_path / "service.log", **FAST_RECOVERY)
    try:
        with first.client() as client:
            dataset_id = _upload_slow_preparation(client, slow_preparation_archive)["id"]
    finally:
        stop_service(first)  # SIGTERM, as a container stop sends it
    assert "dataset handed back: the worker is stopping" in (tmp_path / "service.log").read_text()

    second = start_service(data_dir, tmp_path / "restarted.log", **FAST_RECOVERY)
    try:
        with second.client() as client:
            dataset = wait_until_prepared(client, dataset_id)
            job, _ = wait_for_job(client, _train(client, dataset_id, epochs=1))
    finally:
        stop_service(second)

    assert dataset["status"] == "ready", dataset
    assert dataset["train_count"] == 2400
    source = data_dir / "datasets" / dataset_id / "source.tar.gz"
    assert source.read_bytes() == slow_preparation_archive.read_bytes()
    assert job["status"] == "succeeded", job["error"]


def test_restarting_the_service_loses_nothing(tmp_path: Path, slow_epochs_dataset):
    data_dir, log = tmp_path / "var", tmp_path / "service.log"
    first = start_service(data_dir, log, **FAST_RECOVERY)
    try:
        with first.client() as client:
            dataset = _upload(client, slow_epochs_dataset)
            done, _ = wait_for_job(client, _train(client, dataset, epochs=1))
            interrupted = _train(client, dataset, epochs=3)
            _wait_until(client, interrupted, _in_epoch(2))
    finally:
        stop_service(first)  # SIGTERM, as a container stop sends it

    second = start_service(data_dir, tmp_path / "restarted.log", **FAST_RECOVERY)
    try:
        with second.client() as client:
            resumed, _ = wait_for_job(client, interrupted)
            assert client.get(f"/datasets/{dataset}").status_code == 200
            assert client.get(f"/models/{done['model_id']}").status_code == 200
            image = cifar_samples()["test"]["cat"][0]
            prediction = client.post(
                "/predict", data={"model": done["model_id"]}, files={"file": ("cat.jpg", image)}
            )
            old = client.get(f"/jobs/{done['id']}").json()
    finally:
        stop_service(second)

    assert old["status"] == "succeeded" and old["history"] == done["history"]
    assert prediction.status_code == 200, prediction.text
    assert prediction.json()["model_id"] == done["model_id"]
    assert resumed["status"] == "succeeded", resumed["error"]
    assert [epoch["epoch"] for epoch in resumed["history"]] == [1, 2, 3]
    assert resumed["runtime"]["resumed_from_epoch"] == 1
    assert "job handed back to the queue" in log.read_text()
