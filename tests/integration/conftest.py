import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.samples import REPO_ROOT


@dataclass
class RunningService:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(data_dir: Path, log: Path, **env: str) -> RunningService:
    """`python -m app` as a user starts it: uvicorn plus its supervised worker process."""
    port = _free_port()
    environment = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "CPU_REPLICAS": "2",
        "HEARTBEAT_SECONDS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **env,
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "app"],
            cwd=REPO_ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    service = RunningService(f"http://127.0.0.1:{port}", process, data_dir, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{service.url}/healthz", timeout=1).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the service did not answer within 60 s:\n{log.read_text()}")


def stop_service(service: RunningService) -> None:
    service.process.terminate()
    try:
        service.process.wait(30)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "var", tmp_path / "service.log")
    try:
        yield running
    finally:
        stop_service(running)
