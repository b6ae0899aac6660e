"""The Dockerfile is lint-clean and runs what the tests run: the same requirements and the same entry script."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from .support import SAMPLE_DATA, TRAINING_IMAGE

DOCKERFILE = TRAINING_IMAGE / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(found).exists(), "hadolint not installed: pip install -r training-image/requirements-dev.txt"
    return found


def test_hadolint_reports_nothing() -> None:
    done = subprocess.run([_hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.strip() == ""
    assert done.stderr.strip() == ""


def test_dockerfile_installs_requirements_txt_and_enters_through_entrypoint_py() -> None:
    text = DOCKERFILE.read_text()
    assert "COPY requirements.txt ." in text
    assert "RUN pip install --no-cache-dir -r requirements.txt" in text
    assert "COPY entrypoint.py ." in text
    assert "COPY src/ src/" in text
    assert 'ENTRYPOINT ["python", "/opt/program/entrypoint.py"]' in text
    assert "com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true" in text
    assert re.search(r"^EXPOSE 8080$", text, re.MULTILINE)


def test_base_image_carries_the_pinned_torch_version() -> None:
    pins = dict(
        line.split("==") for line in (TRAINING_IMAGE / "requirements.txt").read_text().splitlines() if "==" in line
    )
    base = re.search(r"^FROM pytorch/pytorch:(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base, "FROM pytorch/pytorch:<tag> expected"
    assert base[1].startswith(f"{pins['torch']}-cuda")
    assert base[1].endswith("-runtime")
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", line) for line in _requirement_lines())


def _requirement_lines() -> list[str]:
    lines = []
    for name in ("requirements.txt", "requirements-dev.txt"):
        lines += [
            line.strip()
            for line in (TRAINING_IMAGE / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
    return lines


def test_sample_data_is_the_1797_digits_split_70_15_15_and_stratified() -> None:
    counts = {}
    for name in ("train", "validation", "test"):
        with (SAMPLE_DATA / f"{name}.csv").open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == [f"p{i}" for i in range(64)] + ["label"]
        assert all(value.isdigit() for row in rows[1:] for value in row)
        labels = Counter(row[-1] for row in rows[1:])
        assert set(labels) == {str(d) for d in range(10)}
        counts[name] = len(rows) - 1
    assert counts == {"train": 1257, "validation": 270, "test": 270}


def test_sample_data_regenerates_byte_for_byte(tmp_path: Path) -> None:
    script = TRAINING_IMAGE / "scripts" / "make_digits_csv.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True)
    for name in ("train", "validation", "test"):
        assert (tmp_path / f"{name}.csv").read_bytes() == (SAMPLE_DATA / f"{name}.csv").read_bytes()
