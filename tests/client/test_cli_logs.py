"""`kts logs`, against the real service and its worker process; and how a record reads."""

import json
import re
import shutil
import subprocess

import pytest

from client.logs import log_line
from tests.client.conftest import CLASSES, KTS, Kts, one_line_error


@pytest.mark.slow
def test_logs_print_the_jobs_records_as_readable_lines(trained):
    job = trained.job

    result = trained.kts("logs", job["id"])

    assert result.returncode == 0, result.stderr
    started = re.search(
        r"^\d{4}-\d\d-\d\d [\d:,]+  INFO     job started  (.*)$", result.stdout, re.M
    )
    assert started and "attempt=1 " in started[1] and '"epochs":2' in started[1], result.stdout
    succeeded = re.search(r"^\S+ \S+  INFO     job succeeded  (.*)$", result.stdout, re.M)
    assert succeeded and f"model_id={job['model_id']} " in succeeded[1], result.stdout
    assert result.stdout.index("job started") < result.stdout.index("job succeeded")
    assert "job_id=" not in result.stdout and "process=" not in result.stdout


@pytest.mark.slow
def test_logs_json_prints_the_records_unchanged_one_per_line(trained):
    job_id = trained.job["id"]

    result = trained.kts("logs", job_id, "--json")

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    with trained.service.client() as client:
        page = client.get(f"/jobs/{job_id}/logs", params={"limit": 10_000}).json()
    assert records == page["data"] and len(records) == page["count"]
    started = next(record for record in records if record["message"] == "job started")
    assert started["job_id"] == job_id and started["level"] == "INFO"


@pytest.mark.slow
def test_follow_prints_records_until_the_job_has_ended(trained, make_archive):
    """A job that fails at once (its images are gone) without training anything."""
    kts = Kts(trained.service.url)
    upload = kts("datasets", "upload", str(make_archive(CLASSES, 10, 2)))
    dataset_id = re.search(r"Uploaded dataset (\w+)", upload.stdout)[1]  # type: ignore[index]
    shutil.rmtree(trained.service.data_dir / "datasets" / dataset_id / "arrays")
    queued = kts("train", "--dataset", dataset_id, "--epochs", "1")
    job_id = re.search(r"Queued job (\w+)", queued.stdout)[1]  # type: ignore[index]

    result = subprocess.run(
        [str(KTS), "logs", job_id, "--follow"],
        env={"KTS_URL": trained.service.url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(re.search(r"  INFO     job started  attempt=1 ", line) for line in lines)
    failed = next(n for n, line in enumerate(lines) if "  ERROR    job failed" in line)
    traceback = lines[failed + 1 :]
    assert traceback[0] == "Traceback (most recent call last):"
    assert any(re.match(r"FileNotFoundError: .*arrays/x_train\.npy", line) for line in traceback)


@pytest.mark.slow
def test_logs_of_an_unknown_job_are_refused(trained):
    error = one_line_error(trained.kts("logs", "missing"))

    assert error == "Error: No job with id 'missing'. (HTTP 404)\n"
    assert "(HTTP 404)" in one_line_error(trained.kts("logs", "missing", "--follow"))


def test_a_record_reads_as_time_level_message_then_its_fields():
    record = {
        "time": "2026-11-26 08:20:41,379",
        "level": "WARNING",
        "logger": "worker",
        "message": "unreadable checkpoint skipped",
        "process": "worker",
        "job_id": "abc",
        "path": "/var/jobs/abc/epoch 2.keras",
        "attempt": 2,
        "metrics": {"loss": 0.5},
        "error": None,
    }

    assert log_line(record).plain == (
        "2026-11-26 08:20:41,379  WARNING  unreadable checkpoint skipped  "
        'path="/var/jobs/abc/epoch 2.keras" attempt=2 metrics={"loss":0.5} error=null'
    )


def test_a_traceback_follows_its_record_and_a_broken_line_reads_as_itself():
    record = {
        "time": "2026-11-26 08:20:41,379",
        "level": "ERROR",
        "message": "job failed",
        "exc_info": 'Traceback (most recent call last):\n  File "x.py"\nValueError: no\n',
    }

    assert log_line(record).plain.splitlines() == [
        "2026-11-26 08:20:41,379  ERROR    job failed",
        "Traceback (most recent call last):",
        '  File "x.py"',
        "ValueError: no",
    ]
    assert log_line({"message": '{"time": "2026-11-26 08:2'}).plain == '{"time": "2026-11-26 08:2'
