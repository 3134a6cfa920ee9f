"""What `kts` checks of its arguments before it asks the service; a bad one is one line on
stderr and exit code 2. The service checks the training fields' names and values itself."""

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click
import httpx


class OneLineUsageError(click.UsageError):
    """A bad argument as click words it, and where to find help, without the usage block."""

    def __init__(self, error: click.UsageError) -> None:
        message = " ".join(error.format_message().split())
        super().__init__(message if message.endswith((".", "?")) else f"{message}.", error.ctx)

    def show(self, file: IO[Any] | None = None) -> None:
        hint = f" Try '{self.ctx.command_path} --help' for help." if self.ctx else ""
        click.echo(f"Error: {self.message}{hint}", file=file, err=file is None)


@contextmanager
def one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # `kts` alone: the help, as click shows it
    except click.UsageError as error:
        raise OneLineUsageError(error) from None


def service_url(ctx: click.Context, param: click.Parameter, url: str) -> str:
    """`--url`, refused up front unless it is an http:// or https:// URL with a host."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise click.BadParameter(f"{url!r}: {error}.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise click.BadParameter(f"{url!r} is not an http:// or https:// URL.")
    return url


def training_fields(
    ctx: click.Context, param: click.Parameter, assignments: tuple[str, ...]
) -> dict[str, Any]:
    """`--set FIELD=VALUE`s as a request's fields. A field that has an option of its own is
    refused, naming the option: each field is set one way, so none is given twice."""
    own_options = {
        other.name: max(other.opts, key=len)
        for other in ctx.command.params
        if other is not param and isinstance(other, click.Option)
    }
    fields: dict[str, Any] = {}
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        name = name.strip()
        if not separator or not name:
            raise click.BadParameter(f"{assignment!r} is not FIELD=VALUE.")
        if name in own_options:
            raise click.BadParameter(f"{name} has an option of its own: {own_options[name]}.")
        fields[name] = _json_or_text(text)
    return fields


def _json_or_text(text: str) -> Any:
    """`text` read as JSON, else as itself. Numbers JSON cannot carry (NaN, 1e400) stay text,
    for the service to refuse."""
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_finite)
    except ValueError:
        return text


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number
