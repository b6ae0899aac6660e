"""`prepare`'s cleaning and splitting policy, read from PREPARE_* environment variables.

Why environment variables: a Processing job passes settings as its Environment map (CreateProcessingJob
`Environment`, up to 100 entries of up to 256 characters each,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html), so each setting is one
short string, validated like a hyperparameter. Unset ones take the defaults below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .. import settings
from ..errors import ConfigurationError
from ..settings import boolean, choice, column_name, load_settings, number, whole_number

ENV_PREFIX = "PREPARE_"
MISSING_POLICIES = ("drop", "median", "mean")
UNSEEN_POLICIES = ("other", "refuse")

_spec = settings.setting


@dataclass(frozen=True)
class PrepareConfig:
    """Validated `prepare` settings; the environment variable of each is PREPARE_ + its name in upper case."""

    label_column: str = _spec("label", column_name, "Name of the CSV column holding the class label.")
    missing_values: str = _spec(
        "median",
        choice(*MISSING_POLICIES),
        "drop: drop rows with a missing feature; median/mean: impute per column with the training split's value.",
    )
    drop_duplicates: bool = _spec(True, boolean, "Drop rows that repeat an earlier row exactly (label included).")
    constant_columns: str = _spec(
        "drop", choice("drop", "keep"), "drop: remove feature columns with one value in the training split."
    )
    validation_fraction: float = _spec(0.15, number(0.0, 0.5, low_open=True), "Share of each class for validation.")
    test_fraction: float = _spec(0.15, number(0.0, 0.5, low_open=True), "Share of each class for test.")
    seed: int = _spec(
        42, whole_number(0, 2**31 - 1), "Seed of the stratified split (it keys the hash that places each row)."
    )
    max_categories: int = _spec(
        20,
        whole_number(1, 1000),
        "Text columns with up to this many training categories are one-hot encoded; above it, frequency encoded.",
    )
    unseen_categories: str = _spec(
        "other",
        choice(*UNSEEN_POLICIES),
        "A request category never seen in training: other (the 'other' bucket) or refuse (a 400 naming it).",
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def env_name(name: str) -> str:
    return settings.env_name(ENV_PREFIX, name)


def load_prepare_config(env: Mapping[str, str]) -> PrepareConfig:
    """Reads every PREPARE_* variable; an unknown name or a bad value raises ConfigurationError naming it."""
    config = load_settings(PrepareConfig, ENV_PREFIX, env)
    if config.validation_fraction + config.test_fraction >= 0.9:
        raise ConfigurationError(
            f'Invalid settings "{env_name("validation_fraction")}" + "{env_name("test_fraction")}": '
            f"{config.validation_fraction:g} + {config.test_fraction:g} leaves too little for training; "
            "expected a sum below 0.9"
        )
    return config
