"""Finds the input channels from inputdataconfig.json (or, for local runs without it, from the data folders)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigurationError, DataError
from ..paths import SageMakerPaths
from ..tabular.preprocessing import PREPROCESSING_CHANNEL

KNOWN_CHANNELS = ("train", "validation", "test")
CSV_CONTENT_TYPES = ("text/csv", "application/x-csv")


def _read_config(path: Path) -> dict[str, dict[str, object]]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"Cannot read {path}: {error}") from None
    if not isinstance(config, dict) or not all(isinstance(value, dict) for value in config.values()):
        raise ConfigurationError(f"{path} must map channel names to channel settings")
    return config


def discover_channels(paths: SageMakerPaths) -> dict[str, Path]:
    """The data folder of each channel present; 'train' is required, 'validation' and 'test' are optional."""
    if paths.input_data_config_file.exists():
        config = _read_config(paths.input_data_config_file)
        unknown = sorted(set(config) - {*KNOWN_CHANNELS, PREPROCESSING_CHANNEL})
        if unknown:
            raise ConfigurationError(
                f"Unexpected input channel(s) {', '.join(unknown)}; this image reads "
                f"{', '.join(KNOWN_CHANNELS)} and {PREPROCESSING_CHANNEL}"
            )
        for name, settings in config.items():
            mode = str(settings.get("TrainingInputMode", "File"))
            if mode == "Pipe":
                raise ConfigurationError(f"Channel '{name}' uses Pipe input mode; use File or FastFile")
            content_type = settings.get("ContentType")
            media_type = str(content_type).split(";")[0].strip().lower()
            if content_type and name != PREPROCESSING_CHANNEL and media_type not in CSV_CONTENT_TYPES:
                raise ConfigurationError(f"Channel '{name}' has ContentType {content_type}; this image reads text/csv")
            if settings.get("S3DistributionType") == "ShardedByS3Key":
                raise ConfigurationError(
                    f"Channel '{name}' is ShardedByS3Key; use FullyReplicated (each process reads its own shard "
                    "of the full data set)"
                )
        names = [name for name in KNOWN_CHANNELS if name in config]
    else:
        names = [name for name in KNOWN_CHANNELS if paths.channel_dir(name).is_dir()]
    if "train" not in names or not paths.channel_dir("train").is_dir():
        raise DataError(
            f"Missing required input channel 'train': expected CSV files under {paths.channel_dir('train')}"
        )
    for name in names:
        if not paths.channel_dir(name).is_dir():
            raise DataError(f"Channel '{name}' is configured but {paths.channel_dir(name)} does not exist")
    return {name: paths.channel_dir(name) for name in names}
