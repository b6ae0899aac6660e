"""Writes sample-data/raw/digits.csv: the bundled digits as one raw CSV that needs cleaning.

All rows of sample-data/{train,validation,test}.csv in one file, with a fixed seed adding what real exports
have: 40 empty cells, 6 cells written "NA", and 25 rows repeated later in the file. `npm run local` prepares
it by default, so the default run exercises cleaning and splitting. Running it again reproduces the committed
file byte for byte (a test checks that):

    .venv/bin/python training-image/scripts/make_raw_digits_csv.py [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

SEED = 20261129
SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample-data"
OUT_FILE = SAMPLE_DATA / "raw" / "digits.csv"
EMPTY_CELLS = 40
NA_CELLS = 6
REPEATED_ROWS = 25


def build_rows() -> tuple[list[str], list[list[str]]]:
    header: list[str] = []
    rows: list[list[str]] = []
    for name in ("train", "validation", "test"):
        with (SAMPLE_DATA / f"{name}.csv").open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows += [row for row in reader if row]
    rng = np.random.default_rng(SEED)
    label = header.index("label")
    features = [i for i in range(len(header)) if i != label]
    cells = rng.choice(len(rows) * len(features), size=EMPTY_CELLS + NA_CELLS, replace=False)
    for n, cell in enumerate(cells):
        row, column = divmod(int(cell), len(features))
        rows[row][features[column]] = "" if n < EMPTY_CELLS else "NA"
    for source in sorted(rng.choice(len(rows), size=REPEATED_ROWS, replace=False).tolist(), reverse=True):
        target = int(rng.integers(source + 1, len(rows) + 1))  # a repeat always comes after its original
        rows.insert(target, list(rows[source]))
    return header, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="output file (default: sample-data/raw/digits.csv)")
    out: Path = parser.parse_args().out
    header, rows = build_rows()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"{out}: {len(rows)} rows")


if __name__ == "__main__":
    main()
