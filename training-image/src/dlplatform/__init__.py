"""The training image's Python package: SageMaker `prepare`, `train`, `evaluate` and `serve` for a PyTorch classifier
on CSV data, one subpackage per stage (the package map is in training-image/README.md)."""

__all__ = ["__version__"]

__version__ = "1.0.0"
