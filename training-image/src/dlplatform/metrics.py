"""The metric log lines. Their regexes live in training-image/metric-definitions.json (SageMaker MetricDefinitions)."""

from __future__ import annotations


def epoch_line(epoch: int, train_loss: float, validation_loss: float, validation_accuracy: float) -> str:
    return (
        f"epoch={epoch}; train_loss={train_loss:.6f}; validation_loss={validation_loss:.6f}; "
        f"validation_accuracy={validation_accuracy:.6f};"
    )


def test_line(test_accuracy: float) -> str:
    return f"test_accuracy={test_accuracy:.6f};"


def emit(line: str) -> None:
    """Metric lines go to stdout, flushed at once so SageMaker sees them as they happen."""
    print(line, flush=True)


def evaluation_line(values: dict[str, float]) -> str:
    """One line with every key evaluation metric: `test_macro_f1=0.981234; test_ece=0.012345; ...`."""
    return " ".join(f"{name}={value:.6f};" for name, value in values.items())
