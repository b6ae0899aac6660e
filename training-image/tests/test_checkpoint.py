"""Checkpoint files: atomic writes, rotation, and falling back past an unreadable newest file."""

from __future__ import annotations

from pathlib import Path

import torch

from dlplatform.train.checkpoint import Position, list_checkpoints, load_latest_checkpoint, save_checkpoint


def test_keeps_the_newest_two_and_removes_leftover_temporary_files(tmp_path: Path) -> None:
    (tmp_path / ".checkpoint-e00001-s000003.pt.tmp").write_bytes(b"half a file")
    for position in (Position(1, 0), Position(2, 0), Position(2, 7), Position(3, 0)):
        save_checkpoint(tmp_path, position, {"weights": torch.ones(2) * position.epoch})

    assert [path.name for _, path in list_checkpoints(tmp_path)] == [
        "checkpoint-e00002-s000007.pt",
        "checkpoint-e00003-s000000.pt",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "checkpoint-e00002-s000007.pt",
        "checkpoint-e00003-s000000.pt",
    ]


def test_loads_the_newest_readable_checkpoint(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, Position(4, 0), {"weights": torch.zeros(3)})
    save_checkpoint(tmp_path, Position(5, 0), {"weights": torch.ones(3)})
    (tmp_path / "checkpoint-e00005-s000000.pt").write_bytes(b"truncated by a sync")

    found = load_latest_checkpoint(tmp_path)

    assert found is not None
    path, state = found
    assert path.name == "checkpoint-e00004-s000000.pt"
    assert (state["epoch"], state["step"]) == (4, 0)
    assert torch.equal(state["weights"], torch.zeros(3))


def test_no_checkpoint_folder_means_a_fresh_start(tmp_path: Path) -> None:
    assert load_latest_checkpoint(tmp_path / "absent") is None
