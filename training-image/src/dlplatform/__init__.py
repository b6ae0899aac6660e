"""The training image's Python package: SageMaker `train` and `serve` for a PyTorch classifier on CSV data."""

__all__ = ["__version__"]

__version__ = "1.0.0"
