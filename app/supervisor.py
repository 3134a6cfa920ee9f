"""Starts the training worker as a fresh process and restarts it whenever it dies."""

import asyncio
import logging
import os
import subprocess
import sys

from core.settings import Settings

log = logging.getLogger("app.supervisor")

MAX_BACKOFF_SECONDS = 30.0
STOP_GRACE_SECONDS = 10.0


def worker_environment(settings: Settings) -> dict[str, str]:
    """The app's own settings, passed on, so the worker sees what the app sees."""
    env = dict(os.environ)
    for name, value in settings.model_dump(exclude={"api_keys"}).items():
        if value is not None:
            env[name.upper()] = str(value)
    env.pop("API_KEYS", None)  # the worker serves no requests: it gets no keys
    env["DATA_DIR"] = str(settings.data_dir.resolve())
    env["DATABASE_URL"] = settings.resolved_database_url
    return env


class WorkerSupervisor:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: subprocess.Popen[bytes] | None = None
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
            # A fresh interpreter, never a fork of this one, as TensorFlow requires.
            self._process = subprocess.Popen(
                [sys.executable, "-m", "worker"], env=worker_environment(self._settings)
            )
            log.info("worker started", extra={"pid": self._process.pid})
            started = asyncio.get_running_loop().time()
            while self._process.poll() is None:
                await asyncio.sleep(0.5)
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
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            # The job it was training is reclaimed once its heartbeat lapses.
            process.kill()
            await asyncio.to_thread(process.wait)
