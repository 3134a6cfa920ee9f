"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis): whatever a
client sends that the schema allows, or nearly allows, the running server answers without a
5xx and keeps serving."""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from core.settings import Settings
from devkit.saved_models import save_untrained_model
from tests.integration.running import RunningService, start_service, stop_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzzed_service(tmp_path_factory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("fuzz")
    # A model, so that predictions get as far as decoding what the fuzzer uploads.
    save_untrained_model(Settings(data_dir=folder / "var", _env_file=None), ["cat", "ship"])
    # No worker: queued jobs stay queued, so the fuzzing does not start hundreds of trainings.
    running = start_service(folder / "var", folder / "service.log", START_WORKER="false")
    try:
        yield running
    finally:
        stop_service(running)


def test_no_request_gets_a_server_error(fuzzed_service: RunningService):
    api = schemathesis.openapi.from_url(f"{fuzzed_service.url}/openapi.json")
    operations = []
    for result in api.get_all_operations():
        assert isinstance(result, Ok), result.err()  # every operation in the schema readable
        operations.append(result.ok())
    failures: list[str] = []

    for operation in operations:
        # schemathesis' pytest plugin does not support this pytest yet; Hypothesis runs the
        # strategy it makes for each operation just as well.
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            response = case.call()
            documented_unready = case.path == "/readyz" and response.status_code == 503
            if response.status_code >= 500 and not documented_unready:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")

        no_server_error()

    assert len(operations) >= 15
    assert failures == [], "\n".join(sorted(set(failures)))
    assert fuzzed_service.process.poll() is None  # still serving
