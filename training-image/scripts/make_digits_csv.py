"""Regenerates sample-data/{train,validation,test}.csv from scikit-learn's bundled 8x8 digits (no download).

Stratified 70/15/15 split with a fixed seed, so running it again reproduces the committed files byte for byte
(a test checks that):

    .venv/bin/python training-image/scripts/make_digits_csv.py [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20240601
OUT_DIR = Path(__file__).resolve().parent.parent / "sample-data"


def write_csv(path: Path, pixels: np.ndarray, labels: np.ndarray) -> None:
    header = [f"p{i}" for i in range(pixels.shape[1])] + ["label"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row, label in zip(pixels, labels, strict=True):
            writer.writerow([*(int(v) for v in row), int(label)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: sample-data/)")
    out_dir: Path = parser.parse_args().out
    digits = load_digits()
    pixels = digits.data.astype(np.int64)
    labels = digits.target.astype(np.int64)
    train_x, rest_x, train_y, rest_y = train_test_split(
        pixels, labels, test_size=0.30, stratify=labels, random_state=SEED
    )
    validation_x, test_x, validation_y, test_y = train_test_split(
        rest_x, rest_y, test_size=0.50, stratify=rest_y, random_state=SEED
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, x, y in (
        ("train", train_x, train_y),
        ("validation", validation_x, validation_y),
        ("test", test_x, test_y),
    ):
        write_csv(out_dir / f"{name}.csv", x, y)
        print(f"{name}.csv: {len(y)} rows")


if __name__ == "__main__":
    main()
