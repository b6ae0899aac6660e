"""Atomic, rotating training checkpoints in the checkpoint folder SageMaker syncs with S3."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

KEEP = 2
NAME = re.compile(r"checkpoint-e(\d{5})-s(\d{6})\.pt")


@dataclass(frozen=True, order=True)
class Position:
    """Where training stands: ``epoch`` epochs done, plus ``step`` batches of the next one."""

    epoch: int
    step: int

    @property
    def file_name(self) -> str:
        return f"checkpoint-e{self.epoch:05d}-s{self.step:06d}.pt"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_checkpoints(directory: Path) -> list[tuple[Position, Path]]:
    """Checkpoint files, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = NAME.fullmatch(path.name)
        if match:
            found.append((Position(int(match[1]), int(match[2])), path))
    return sorted(found)


def save_checkpoint(directory: Path, position: Position, state: dict[str, Any], keep: int = KEEP) -> Path:
    """Writes to a temporary file, fsyncs and renames, so a kill never leaves a half-written checkpoint.

    Then deletes all but the newest ``keep`` checkpoints, and temporary files a kill left behind.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / position.file_name
    temporary = directory / f".{position.file_name}.tmp"
    with temporary.open("wb") as handle:
        torch.save({**state, "epoch": position.epoch, "step": position.step}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(final)
    _fsync_dir(directory)
    for _, old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    for leftover in directory.glob(".checkpoint-*.pt.tmp"):
        leftover.unlink(missing_ok=True)
    return final


def load_latest_checkpoint(directory: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads; an unreadable one (e.g. cut short by a sync) falls back to the previous."""
    for _, path in reversed(list_checkpoints(directory)):
        try:
            return path, torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any unreadable file means: try the older one
            log.warning("Skipping unreadable checkpoint %s: %s", path, error)
    return None
