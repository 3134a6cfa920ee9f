"""`kts logs`: a job's worker log records, as readable lines or as JSON lines, followed live."""

import json
import time
from collections.abc import Callable
from typing import Any

import click
from rich.text import Text

from client.api import ServiceClient
from client.consoles import err, out
from client.events import FINAL_STATUSES

POLL_SECONDS = 1.0
PAGE_SIZE = 1000
# Shown another way, or the same in every record of a job.
HIDDEN_FIELDS = {
    "time", "level", "message", "logger", "process", "job_id", "taskName", "exc_info",
    "stack_info",
}  # fmt: skip
LEVEL_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}

Record = dict[str, Any]


@click.command()
@click.argument("job_id")
@click.option("--follow", is_flag=True, help="Keep printing new records until the job ends.")
@click.option("--json", "as_json", is_flag=True, help="The records unchanged, as JSON lines.")
@click.pass_obj
def logs(service: ServiceClient, job_id: str, follow: bool, as_json: bool) -> None:
    """Print a job's worker log records, oldest first.

    Each is one line (time, level, message, then its fields as key=value), and a traceback,
    if any, follows it. With --follow, new records are printed as the worker writes them
    (checked every second) until the job has ended."""
    show = _print_json if as_json else _print_readable
    offset = _print_from(service, job_id, 0, show)
    if not follow:
        if offset == 0:
            err.print(f"Job {job_id} has no log records yet.", markup=False)
        return
    try:
        while True:
            ended = service.get_job(job_id)["status"] in FINAL_STATUSES
            # The worker writes its last record just after the status: one more read gets it.
            time.sleep(POLL_SECONDS)
            offset = _print_from(service, job_id, offset, show)
            if ended:
                return
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def log_line(record: Record) -> Text:
    """`time  LEVEL  message  key=value ...`, then the traceback, if any, on its own lines."""
    line = Text()
    if "time" in record:
        line.append(f"{record['time']}  ", style="dim")
    if "level" in record:
        level = str(record["level"])
        line.append(f"{level:<8} ", style=LEVEL_STYLES.get(level, ""))
    line.append(str(record.get("message", "")))
    fields = [f"{key}={_value(value)}" for key, value in record.items() if key not in HIDDEN_FIELDS]
    if fields:
        line.append("  " + " ".join(fields), style="dim")
    for name in ("exc_info", "stack_info"):
        if record.get(name):
            line.append(f"\n{record[name]}".rstrip(), style="red")
    return line


def _print_from(
    service: ServiceClient, job_id: str, offset: int, show: Callable[[Record], None]
) -> int:
    """Print the records from `offset` on, a page at a time; the offset after them."""
    while True:
        page = service.job_logs(job_id, offset, PAGE_SIZE)
        for record in page["data"]:
            show(record)
        offset += len(page["data"])
        if not page["data"] or offset >= page["count"]:
            return offset


def _print_readable(record: Record) -> None:
    out.print(log_line(record), soft_wrap=True)


def _print_json(record: Record) -> None:
    click.echo(json.dumps(record, ensure_ascii=False))


def _value(value: Any) -> str:
    if isinstance(value, str) and value and not any(char.isspace() for char in value):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
