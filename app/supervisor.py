"""Starts the training worker as a fresh process and restarts it whenever it dies."""

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from core.lifeline import LIFELINE_FD
from core.settings import NESTED_DELIMITER, Settings

log = logging.getLogger("app.supervisor")

MAX_BACKOFF_SECONDS = 30.0
STOP_GRACE_SECONDS = 10.0


def worker_environment(settings: Settings) -> dict[str, str]:
    """The app's own settings, passed on, so the worker sees what the app sees."""
    env = dict(os.environ)
    env.update(_environment_variables(settings.model_dump(exclude={"api_keys"})))
    env.pop("API_KEYS", None)  # the worker serves no requests: it gets no keys
    env["DATA_DIR"] = str(settings.data_dir.resolve())
    env["DATABASE_URL"] = settings.resolved_database_url
    return env


def _environment_variables(values: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Each setting as the variable that sets it; a group's as `<GROUP>__<NAME>` each."""
    for name, value in values.items():
        if isinstance(value, dict):
            yield from _environment_variables(value, f"{prefix}{name}{NESTED_DELIMITER}")
        elif value is not None:
            yield f"{prefix}{name}".upper(), str(value)


def start_worker_process(settings: Settings) -> tuple[subprocess.Popen[bytes], int]:
    """A fresh interpreter, never a fork of this one, as TensorFlow requires; with the write end
    of its lifeline (core/lifeline.py), which the caller keeps open until the worker has ended."""
    read_end, write_end = os.pipe()  # neither end is inherited by other children
    env = {**worker_environment(settings), LIFELINE_FD: str(read_end)}
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            env=env,
            pass_fds=[read_end],
            # Out of the terminal's process group: Ctrl-C stops the app, which stops its worker
            # once. Two signals at once (the terminal's and the app's) would stop it hard, and its
            # running job would not be handed back.
            start_new_session=True,
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)  # the worker's own now
    return process, write_end


class WorkerSupervisor:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> str:
        alive = self._process is not None and self._process.poll() is None
        return "running" if alive else "restarting"

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="worker-supervisor")

    async def _supervise(self) -> None:
        backoff = 1.0
        while True:
            self._process, self._lifeline = start_worker_process(self._settings)
            log.info("worker started", extra={"pid": self._process.pid})
            started = asyncio.get_running_loop().time()
            while self._process.poll() is None:
                await asyncio.sleep(0.5)
            self._release_lifeline()
            ran_for = asyncio.get_running_loop().time() - started
            backoff = (
                1.0 if ran_for > MAX_BACKOFF_SECONDS else min(backoff * 2, MAX_BACKOFF_SECONDS)
            )
            log.error(
                "worker exited; restarting",
                extra={"returncode": self._process.returncode, "delay_seconds": backoff},
            )
            await asyncio.sleep(backoff)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                # The job it was training is reclaimed once its heartbeat lapses.
                process.kill()
                await asyncio.to_thread(process.wait)
        # Only once the worker has ended: before, it would read that its app is gone.
        self._release_lifeline()

    def _release_lifeline(self) -> None:
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
