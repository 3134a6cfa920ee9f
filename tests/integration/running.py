"""Starting the service as a user does, and following what it does."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.samples import REPO_ROOT


@dataclass
class RunningService:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(data_dir: Path, log: Path, port: int | None = None, **env: str) -> RunningService:
    """`python -m app` as a user starts it: uvicorn plus its supervised worker process; on
    `port` to restart a stopped service where its clients look for it."""
    port = port or free_port()
    environment = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "CPU_REPLICAS": "2",
        "INTERVALS__HEARTBEAT_SECONDS": "1",
        **env,
    }
    process = start_module("app", environment, log)
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


def start_module(
    module: str, environment: dict[str, str], log: Path, pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen[bytes]:
    """`python -m <module>` from the repository, its output in `log`."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO_ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
        )


def stop_service(service: RunningService) -> None:
    service.process.terminate()
    try:
        service.process.wait(30)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


def wait_for_job(
    client: httpx.Client, job_id: str, timeout: float = 300
) -> tuple[dict, list[dict]]:
    """Follow a job until it ends; return it and every distinct state seen on the way."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if not seen or job != seen[-1]:
            seen.append(job)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job, seen
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s; last state {seen[-1]}")


def child_pids(parent: int, argument: bytes) -> list[int]:
    """`parent`'s child processes that have `argument` among their command-line arguments."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and argument in arguments:
            pids.append(int(entry.name))
    return sorted(pids)


def worker_pids(app_pid: int) -> list[int]:
    return child_pids(app_pid, b"worker")  # python -m worker


def has_ended(pid: int) -> bool:
    """Whether a process, not necessarily this one's child, has ended (a zombie has)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not has_ended(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def kill_if_running(pids: list[int]) -> None:
    """Kill what a test left behind: processes its service orphaned (by pid: they are not
    this process's children)."""
    for pid in pids:
        if not has_ended(pid):
            os.kill(pid, signal.SIGKILL)
