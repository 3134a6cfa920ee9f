from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.running import RunningService, start_service, stop_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "var", tmp_path / "service.log")
    try:
        yield running
    finally:
        stop_service(running)
