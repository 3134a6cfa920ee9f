"""Following the processes that the tests and the benchmarks start: a free port to start one on,
the children it starts and its memory (read from /proc), and waiting until it answers."""

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answers(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether `url` answered 200 before `process` exited and within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


def process_ids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state first); empty once it has exited."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def child_pids(parent: int, argument: bytes) -> list[int]:
    """`parent`'s child processes that have `argument` among their command-line arguments."""
    pids = []
    for pid in process_ids():
        fields = stat_fields(pid)
        try:
            arguments = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if fields and int(fields[1]) == parent and argument in arguments:
            pids.append(pid)
    return sorted(pids)


def rss_anon(pid: int | str = "self") -> int:
    """A process's anonymous resident memory in bytes (its heap, not mapped files' pages, which
    the kernel may drop at will); 0 once it has exited."""
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return 0
