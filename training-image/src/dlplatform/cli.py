"""Dispatches SageMaker's container arguments: `train`, `serve`, and `prepare`, `evaluate`, `monitor` for Processing
jobs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

USAGE = "usage: entrypoint.py {train|serve|prepare|evaluate|monitor}  (SageMaker runs the image with one of these)"


def main(argv: list[str], entry_script: Path) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if argv == ["train"]:
        from .train.job import main as train

        return train(entry_script)
    if argv == ["serve"]:
        from .serve.server import main as serve

        return serve()
    if argv == ["prepare"]:
        from .prepare.job import main as prepare

        return prepare()
    if argv == ["evaluate"]:
        from .evaluate.job import main as evaluate

        return evaluate()
    if argv == ["monitor"]:
        from .monitor.job import main as monitor

        return monitor()
    print(USAGE, file=sys.stderr)
    return 2
