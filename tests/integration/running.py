"""Starting the service as a user does, and following what it does."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from devkit.processes import child_pids, free_port, stat_fields, wait_until_answers
from devkit.samples import REPO_ROOT


@dataclass
class RunningService:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def start_service(
    data_dir: Path, log: Path, port: int | None = None, /, **env: str
) -> RunningService:
    """`python -m app` as a user starts it: uvicorn plus its supervised worker process; on
    `port` to restart a stopped service where its clients look for it."""
    return _start_service(data_dir, log, port, env, new_process_group=False)


def start_service_in_terminal(data_dir: Path, log: Path, /, **env: str) -> RunningService:
    """The service in a process group of its own, as a shell runs a command, so that a test can
    send what Ctrl-C sends: SIGINT to every process of the group."""
    return _start_service(data_dir, log, None, env, new_process_group=True)


def _start_service(
    data_dir: Path, log: Path, port: int | None, env: dict[str, str], new_process_group: bool
) -> RunningService:
    port = port or free_port()
    environment = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "CPU_REPLICAS": "2",
        "INTERVALS__HEARTBEAT_SECONDS": "1",
        **env,
    }
    process = start_module("app", environment, log, new_process_group=new_process_group)
    service = RunningService(f"http://127.0.0.1:{port}", process, data_dir, log)
    if wait_until_answers(f"{service.url}/healthz", process, timeout=60):
        return service
    if process.poll() is not None:
        raise RuntimeError(f"the service exited:\n{log.read_text()}")
    process.kill()
    raise RuntimeError(f"the service did not answer within 60 s:\n{log.read_text()}")


def start_module(
    module: str,
    environment: dict[str, str],
    log: Path,
    pass_fds: tuple[int, ...] = (),
    new_process_group: bool = False,
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
            process_group=0 if new_process_group else None,
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


def worker_pids(app_pid: int) -> list[int]:
    return child_pids(app_pid, b"worker")  # python -m worker


def has_ended(pid: int) -> bool:
    """Whether a process, not necessarily this one's child, has ended (a zombie has)."""
    fields = stat_fields(pid)
    return not fields or fields[0] == "Z"


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
