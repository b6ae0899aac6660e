"""SIGTERM/SIGINT handling for training: the signal only raises a flag; the loop checkpoints and stops."""

from __future__ import annotations

import signal
from types import FrameType

# 128 + SIGTERM, the shell's code for "terminated": the job did not finish, but nothing went wrong either.
EXIT_INTERRUPTED = 128 + signal.SIGTERM


class Interrupted(Exception):
    """Training stopped on a signal after saving a checkpoint it resumes from."""


class StopFlag:
    """Set by SIGTERM (SageMaker's stop or spot interruption) or SIGINT; checked before every training step."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def install(self) -> StopFlag:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
