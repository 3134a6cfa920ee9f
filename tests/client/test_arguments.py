"""Bad arguments: every `kts` command answers one with one line on stderr and exit code 2,
before it asks the service; and `--set` takes the fields of the service's TrainRequest."""

import json
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from client.api import ServiceClient
from client.cli import main, train
from core.schemas import TrainRequest
from devkit.processes import free_port
from tests.client.conftest import Kts


def command_paths(
    group: click.Group = main, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every command and group under `group`, as the words that run it: new ones included."""
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_paths(command, (*path, name))
        else:
            yield (*path, name)


def usage_error(result) -> str:
    """What a bad argument looks like: one `Error: ...` line on stderr, exit code 2."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def kts() -> Kts:
    """`kts` with no service behind its URL: an argument it does not refuse fails to connect."""
    return Kts(f"http://127.0.0.1:{free_port()}")


@pytest.mark.parametrize("path", list(command_paths()), ids=" ".join)
def test_every_command_refuses_an_unknown_option_in_one_line(kts, path):
    error = usage_error(kts(*path, "--no-such-option"))

    assert "No such option '--no-such-option'" in error
    assert f"Try '{' '.join(('kts', *path))} --help' for help." in error


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "--epochs", "0"], "'--epochs': 0 is not in the range 1<=x<=1000"),
        (["train", "--set", "flip"], "'--set': 'flip' is not FIELD=VALUE."),
        (["jobs", "--status", "lost"], "'--status': 'lost' is not one of"),
        (["job"], "Missing argument 'JOB_ID'."),
        (["job", "one", "two"], "unexpected extra argument (two)"),
        (["predict", "missing.jpg"], "File 'missing.jpg' does not exist."),
        (["models", "export", "some-model", "--format", "onnx"], "'--format': 'onnx' is not"),
        (["no-such-command"], "No such command 'no-such-command'."),
        (["--url", "localhost:8000", "jobs"], "'localhost:8000' is not an http:// or https:// URL"),
        (["--url", "::", "jobs"], "'--url'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(kts, args, expected):
    assert expected in usage_error(kts(*args))


def test_a_bad_url_from_the_environment_is_one_line_and_exit_2(kts):
    error = usage_error(kts("jobs", KTS_URL="127.0.0.1:8000"))

    assert "'127.0.0.1:8000' is not an http:// or https:// URL" in error


def test_set_of_a_field_with_its_own_option_names_the_option(kts):
    error = usage_error(kts("train", "--epochs", "10", "--set", "validation_split=0", "--wait"))

    assert "validation_split has an option of its own: --validation-split." in error


QUEUED = {
    "id": "j1",
    "model": "seed_cnn",
    "dataset": "cifar10",
    "params": {"epochs": 10, "batch_size": 32},
}


def record_trains(monkeypatch) -> list[dict]:
    """The bodies that `ServiceClient.train` is called with from now on; each is queued."""
    sent: list[dict] = []

    def queued(self, /, **body):
        sent.append(body)
        return QUEUED

    monkeypatch.setattr(ServiceClient, "train", queued)
    return sent


def test_set_takes_exactly_the_request_fields_without_an_option(monkeypatch):
    sent = record_trains(monkeypatch)
    options = {param.name: param.opts for param in train.params if param.name != "extra"}
    valid = {**TrainRequest().resolve(seed=1).model_dump(), "name": "a job"}
    runner = CliRunner()

    for field in TrainRequest.model_fields:
        result = runner.invoke(main, ["train", "--set", f"{field}={json.dumps(valid[field])}"])

        if field in options:  # refused, naming the option that sets it
            assert result.exit_code == 2, result.output
            assert result.stderr.count("\n") == 1 and options[field][-1] in result.stderr
        else:  # sent as given, in a body the service takes
            assert result.exit_code == 0, result.output
            assert sent[-1][field] == valid[field]
            TrainRequest.model_validate({k: v for k, v in sent[-1].items() if v is not None})
    # Each of train's own options sets the field of its name; anything else is the service's
    # to refuse (tests/client/test_cli.py: HTTP 422).
    assert set(options) - {"wait"} <= set(TrainRequest.model_fields)
    assert runner.invoke(main, ["train", "--set", "epoch=3"]).exit_code == 0
    with pytest.raises(ValueError, match="epoch"):
        TrainRequest.model_validate({"epoch": sent[-1]["epoch"]})


def test_set_values_are_json_else_text_and_never_numbers_json_cannot_carry(monkeypatch):
    sent = record_trains(monkeypatch)
    values = [
        "flip=false",
        "momentum=0.5",
        "lr_schedule=constant",
        "ema_momentum=1e400",
        "tta_shift=NaN",
    ]

    result = CliRunner().invoke(main, ["train", *[f"--set={value}" for value in values]])

    assert result.exit_code == 0, result.output
    body = sent[0]
    assert (body["flip"], body["momentum"], body["lr_schedule"]) == (False, 0.5, "constant")
    # Numbers JSON cannot carry would fail to encode: they go as text, for the service to refuse.
    assert (body["ema_momentum"], body["tta_shift"]) == ("1e400", "NaN")
