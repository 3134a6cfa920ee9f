"""With PROMETHEUS_MULTIPROC_DIR set, as app/api_processes.py sets it, a scrape of any
serving process adds up what every one of them counted, dead ones included."""

import os
import subprocess
import sys

from devkit.samples import REPO_ROOT

COUNT = """
from app.metrics import Metrics
metrics = Metrics()
metrics.requests.labels("GET", "/models", "200").inc({count})
metrics.batch_size.observe({count})
"""
SCRAPE = (
    "import sys; from app.metrics import Metrics; sys.stdout.buffer.write(Metrics().exposition())"
)


def run_python(code: str, folder) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, check=True
    )
    return done.stdout.decode()


def test_a_scrape_adds_up_every_process(tmp_path):
    run_python(COUNT.format(count=5), tmp_path)
    run_python(COUNT.format(count=7), tmp_path)

    scraped = run_python(SCRAPE, tmp_path)

    assert 'http_requests_total{method="GET",route="/models",status="200"} 12.0' in scraped
    assert "predict_batch_size_count 2.0" in scraped
    assert "predict_batch_size_sum 12.0" in scraped
