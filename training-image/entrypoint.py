#!/usr/bin/env python3
"""The image's ENTRYPOINT: SageMaker runs `<image> train` for training jobs, `<image> serve` for endpoints,
and `<image> prepare` / `<image> evaluate` for Processing jobs.

The tests start this same script, so what they prove is what the container runs.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from dlplatform import cuda_compat

if __name__ == "__main__":
    # Before anything loads CUDA: may start this script again with the forward-compat libraries (cuda_compat.py).
    cuda_compat.start(sys.argv[1:], Path(__file__).resolve())

    from dlplatform.cli import main

    sys.exit(main(sys.argv[1:], Path(__file__).resolve()))
