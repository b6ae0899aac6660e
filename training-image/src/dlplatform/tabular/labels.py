"""The order of class labels: the class index of each label, in training, reports and predictions."""

from __future__ import annotations


def sort_labels(labels: set[str]) -> tuple[str, ...]:
    """Numeric order when every label is a number ("2" before "10"), else alphabetical."""
    try:
        return tuple(sorted(labels, key=lambda label: (float(label), label)))
    except ValueError:
        return tuple(sorted(labels))
