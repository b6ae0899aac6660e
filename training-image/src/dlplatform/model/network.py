"""The classifier: a rebuildable architecture description and the PyTorch modules it describes.

Serving rebuilds the network from :class:`Architecture` (stored as JSON in metadata.json) and loads a plain
state_dict with ``weights_only=True``, so a model artifact never needs pickle.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

MODEL_KINDS = ("mlp", "cnn")
MIN_IMAGE_SIDE = 8
CNN_CHANNELS = (32, 64)


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild the network; the weights live in model.pt."""

    kind: str
    input_width: int
    num_classes: int
    hidden_units: tuple[int, ...]
    dropout: float
    image_side: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_units"] = list(self.hidden_units)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Architecture:
        arch = cls(
            kind=str(data["kind"]),
            input_width=int(data["input_width"]),
            num_classes=int(data["num_classes"]),
            hidden_units=tuple(int(units) for units in data["hidden_units"]),
            dropout=float(data["dropout"]),
            image_side=None if data.get("image_side") is None else int(data["image_side"]),
        )
        if arch.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {arch.kind!r}; expected one of {', '.join(MODEL_KINDS)}")
        if arch.kind == "cnn" and (arch.image_side is None or arch.image_side**2 != arch.input_width):
            raise ValueError("a cnn needs image_side with image_side**2 == input_width")
        return arch


def square_side(width: int) -> int | None:
    """The side of a square image with ``width`` pixels, or None when ``width`` is not a perfect square."""
    side = math.isqrt(width)
    return side if side * side == width else None


def choose_architecture(
    model_type: str, input_width: int, num_classes: int, hidden_units: tuple[int, ...], dropout: float
) -> Architecture:
    """``model_type`` auto picks the CNN for square images of at least 8x8 pixels (64 features), else the MLP."""
    side = square_side(input_width)
    is_image = side is not None and side >= MIN_IMAGE_SIDE
    kind = ("cnn" if is_image else "mlp") if model_type == "auto" else model_type
    if kind == "cnn" and side is None:
        raise ValueError(
            f"model_type=cnn needs a square image, but the data has {input_width} features "
            "(not a perfect square); use model_type=mlp or auto"
        )
    return Architecture(
        kind=kind,
        input_width=input_width,
        num_classes=num_classes,
        hidden_units=hidden_units,
        dropout=dropout,
        image_side=side if kind == "cnn" else None,
    )


class MLP(nn.Module):
    """Fully connected layers with ReLU and dropout, for tabular features."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = arch.input_width
        for units in arch.hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(arch.dropout)]
            width = units
        layers.append(nn.Linear(width, arch.num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SmallCNN(nn.Module):
    """Two 3x3 convolutions, one 2x2 max-pool and a dense head, for one-channel square images."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        if arch.image_side is None:
            raise ValueError("SmallCNN needs image_side")
        self.side = arch.image_side
        first, second = CNN_CHANNELS
        pooled = self.side // 2
        self.features = nn.Sequential(
            nn.Conv2d(1, first, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(first, second, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(arch.dropout),
            nn.Flatten(),
        )
        head: list[nn.Module] = []
        width = second * pooled * pooled
        for units in arch.hidden_units:
            head += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(arch.dropout)]
            width = units
        head.append(nn.Linear(width, arch.num_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.view(-1, 1, self.side, self.side)))


def build_model(arch: Architecture) -> nn.Module:
    return SmallCNN(arch) if arch.kind == "cnn" else MLP(arch)
