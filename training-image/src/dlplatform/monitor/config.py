"""`monitor`'s settings, read from MONITOR_* environment variables (the Processing job's Environment, like prepare's).

The window bounds come from whoever starts the job (the schedule's time, or local mode); a record whose
``eventMetadata.inferenceTime`` is before MONITOR_WINDOW_START or at or after MONITOR_WINDOW_END is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ..errors import ConfigurationError
from ..settings import env_name, load_settings, number, setting, timestamp, whole_number

ENV_PREFIX = "MONITOR_"


def _bound(text: str) -> datetime | None:
    """An ISO-8601 time, or no bound for an empty value."""
    return timestamp(text) if text else None


@dataclass(frozen=True)
class MonitorConfig:
    """Validated `monitor` settings; the environment variable of each is MONITOR_ + its name in upper case."""

    min_records: int = setting(
        200,
        whole_number(1, 1_000_000_000),
        "Fewest valid records (request rows) a window needs for drift figures; fewer: status not_enough_data.",
    )
    drift_threshold: float = setting(
        0.25,
        number(0.0, 100.0, low_open=True),
        "Population stability index at or above which a feature (or the predicted class) has drifted.",
    )
    window_start: datetime | None = setting(None, _bound, "First inference time in the window (inclusive).")
    window_end: datetime | None = setting(None, _bound, "End of the window (exclusive).")


def load_monitor_config(env: Mapping[str, str]) -> MonitorConfig:
    """Reads every MONITOR_* variable; an unknown name or a bad value raises ConfigurationError naming it."""
    config = load_settings(MonitorConfig, ENV_PREFIX, env)
    if config.window_start and config.window_end and config.window_start >= config.window_end:
        raise ConfigurationError(
            f'Invalid settings "{env_name(ENV_PREFIX, "window_start")}" and "{env_name(ENV_PREFIX, "window_end")}": '
            f"the window starts at {config.window_start.isoformat()}, not before it ends at "
            f"{config.window_end.isoformat()}"
        )
    return config
