"""Which files under an input folder hold data: training channels, `prepare`'s input, `evaluate`'s test rows."""

from __future__ import annotations

from pathlib import Path


def data_files(directory: Path) -> list[Path]:
    """Every data file under ``directory``, recursively, skipping names that start with '.' or '_'."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and not any(part.startswith((".", "_")) for part in path.relative_to(directory).parts)
    )
