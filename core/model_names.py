"""What a model name and an alias may be, so that every reference reads one way only."""

import re

from core.errors import InvalidInputError

PRODUCTION = "production"
# `name@latest` is the newest version, so no alias may take that name.
LATEST = "latest"
# Dataset ids follow the same rule, so every dataset's id is a valid name; neither `@` nor `/`,
# so `name@alias` splits one way only.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Starting with a letter, an alias is never all digits: `name@3` is always version 3.
ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class InvalidReferenceError(InvalidInputError, ValueError):
    """A name or alias that breaks these rules: a bad value to the code that passed it, and a
    422 to the client that sent it."""


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidReferenceError(
            f"Invalid value for argument `name`. Received: name={name!r}. Expected 1 to 64 "
            "letters, digits, `_` or `-`."
        )


def check_alias(alias: str) -> None:
    if not ALIAS_PATTERN.match(alias) or alias == LATEST:
        raise InvalidReferenceError(
            f"Invalid value for argument `alias`. Received: alias={alias!r}. Expected a "
            "lowercase letter, then up to 63 lowercase letters, digits, `_` or `-`; "
            f"not {LATEST!r}, which names the newest version."
        )
