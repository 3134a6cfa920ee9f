"""docker-compose.yml's topology, run with the same commands on this machine (no Docker here):
an API that starts no worker, and a separate worker process draining the same PostgreSQL queue."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from devkit.datasets import upload_dataset, wait_until_prepared
from devkit.samples import REPO_ROOT
from tests.integration.running import start_service, stop_service

pytestmark = pytest.mark.slow


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def _command(service: str) -> list[str]:
    command = _compose()["services"][service]["command"]
    assert command[0] == "python3"
    return [sys.executable, *command[1:]]


def test_compose_file_declares_api_worker_gpu_postgres_and_health_checks():
    services = _compose()["services"]

    assert services["postgres"]["image"].startswith("postgres:")
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    for name in ("api", "worker"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://kts:")
        assert "@postgres:5432/kts" in services[name]["environment"]["DATABASE_URL"]
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "container_name" not in services["worker"]  # so that it can be scaled

    assert services["api"]["environment"]["START_WORKER"] == "false"
    assert services["worker"]["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    ]
    for name in ("api", "worker"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
        assert services[name]["volumes"] == ["data:/data"]


def test_api_and_standalone_worker_share_the_postgresql_queue(
    tmp_path: Path, make_archive, postgres_database_url
):
    data_dir = tmp_path / "var"
    env = {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": postgres_database_url,
        "CPU_REPLICAS": "2",
        "INTERVALS__WORKER_POLL_SECONDS": "0.2",
    }
    api = start_service(
        data_dir, tmp_path / "api.log", START_WORKER="false", DATABASE_URL=postgres_database_url
    )
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        _command("worker"),
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        with api.client() as client:
            assert client.get("/healthz").json()["worker"] == "external"
            archive = make_archive(["cat", "ship"], train_per_class=10, test_per_class=2)
            # The standalone worker prepares it too.
            dataset = wait_until_prepared(client, upload_dataset(client, archive)["id"])
            job = client.post("/train", json={"dataset": dataset["id"], "epochs": 1}).json()
            deadline = time.monotonic() + 180
            while client.get(f"/jobs/{job['id']}").json()["status"] not in ("succeeded", "failed"):
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(0.3)
            assert client.get(f"/jobs/{job['id']}").json()["status"] == "succeeded"

        healthcheck = _compose()["services"]["worker"]["healthcheck"]["test"][1:]
        healthy = subprocess.run(
            [sys.executable, *healthcheck[1:]], cwd=REPO_ROOT, env={**os.environ, **env}
        )
        assert healthy.returncode == 0
    finally:
        worker.terminate()
        worker.wait(60)
        worker_log.close()
        stop_service(api)
    # With the worker gone, its health check turns unhealthy once the liveness file ages.
    time.sleep(0.5)
    quick = {"INTERVALS__WORKER_POLL_SECONDS": "0.1", "INTERVALS__HEARTBEAT_SECONDS": "0.1"}
    stale = subprocess.run(
        [sys.executable, *healthcheck[1:]], cwd=REPO_ROOT, env={**os.environ, **env, **quick}
    )
    assert stale.returncode == 1
