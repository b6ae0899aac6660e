"""Settings that arrive as strings (hyperparameters.json, PREPARE_* variables): one parser per kind of value.

A parser takes the text and returns the value, or raises ValueError with what would be accepted ("a whole number
from 1 to 10000"); the caller names the setting and the text it got.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from .errors import ConfigurationError

Parser = Callable[[str], Any]
Settings = TypeVar("Settings")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean "epochs"?)' for a misspelt name, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def whole_number(low: int, high: int) -> Parser:
    def parse(text: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", text) or not low <= int(text) <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return int(text)

    return parse


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Parser:
    left, right = ("(" if low_open else "["), (")" if high_open else "]")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (math.isfinite(value) and above and below):
            raise ValueError(f"a number in {left}{low:g}, {high:g}{right}")
        return value

    return parse


def choice(*options: str) -> Parser:
    def parse(text: str) -> str:
        if text.lower() not in options:
            raise ValueError(f"one of {', '.join(options)}")
        return text.lower()

    return parse


def boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("true or false")


def column_name(text: str) -> str:
    if not text:
        raise ValueError("a non-empty column name")
    return text


def timestamp(text: str) -> datetime:
    """An ISO-8601 date and time (2024-05-01T13:00:00Z); one without a UTC offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("an ISO-8601 date and time such as 2024-05-01T13:00:00Z") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def setting(default: Any, parser: Parser, help_text: str) -> Any:
    """A field of a settings dataclass read by :func:`load_settings`: its default, parser and description."""
    return dataclasses.field(default=default, metadata={"parse": parser, "help": help_text})


def env_name(prefix: str, name: str) -> str:
    """The environment variable of setting ``name``: PREFIX_NAME."""
    return prefix + name.upper()


def load_settings(cls: type[Settings], prefix: str, env: Mapping[str, str]) -> Settings:
    """Reads every ``prefix``* variable of ``env`` into the settings dataclass ``cls`` (fields made with
    :func:`setting`); an unknown name or a bad value raises ConfigurationError naming it, unset ones keep defaults."""
    specs = {env_name(prefix, f.name): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key in sorted(env):
        if not key.startswith(prefix):
            continue
        spec = specs.get(key)
        if spec is None:
            raise ConfigurationError(
                f'Unknown setting "{key}"{did_you_mean(key, specs)}. Known settings: {", ".join(sorted(specs))}'
            )
        text = env[key].strip()
        try:
            values[spec.name] = spec.metadata["parse"](text)
        except ValueError as error:
            raise ConfigurationError(f'Invalid setting "{key}": "{text}"; expected {error}') from None
    return cls(**values)
