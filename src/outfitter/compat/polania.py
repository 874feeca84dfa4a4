"""PolaniaNet (Polania & Gupte 2019): a Siamese CNN encoder plus colour histograms, fused by Hadamard products.

The backbone is cut into a frozen stem (run once per image and cached, see features.py) and a trainable
head whose pooled output is the encoder embedding; a MetricNetwork scores the fused pair.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from outfitter.backbones import Preprocess, create_backbone
from outfitter.compat.base import CompatModel
from outfitter.compat.losses import MAPLoss
from outfitter.compat.registry import ModelKind, Recipe, register_kind
from outfitter.errors import InputError

HIDDEN = (256, 64)
ORIGINAL_BACKBONE = "vgg16"
VGG_STEM_LAYERS = 24


class MetricNetwork(nn.Module):
    """fc1 -> bn1 -> ReLU -> Dropout -> fc2 -> bn2 -> ReLU -> Dropout -> fc3: one logit per fused pair."""

    def __init__(self, in_dim: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dim, HIDDEN[0])
        self.bn1 = nn.BatchNorm1d(HIDDEN[0])
        self.fc2 = nn.Linear(HIDDEN[0], HIDDEN[1])
        self.bn2 = nn.BatchNorm1d(HIDDEN[1])
        self.fc3 = nn.Linear(HIDDEN[1], 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        """Logits [N] of fused pair features [N, in_dim]."""
        x = self.dropout(torch.relu(self.bn1(self.fc1(fused))))
        x = self.dropout(torch.relu(self.bn2(self.fc2(x))))
        return self.fc3(x).squeeze(1)

    def folded(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """fc1 and fc2 with their eval-mode BatchNorm folded in: (W1, b1, W2, b2)."""
        w1, b1 = _fold(self.fc1, self.bn1)
        w2, b2 = _fold(self.fc2, self.bn2)
        return w1, b1, w2, b2


def _fold(linear: nn.Linear, bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias of bn(linear(x)) with BatchNorm's running statistics."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return linear.weight * scale[:, None], (linear.bias - bn.running_mean) * scale + bn.bias


class PolaniaNet(CompatModel):
    """Siamese encoder (frozen stem, trainable head) + colour histograms -> [e1*e2, h1*h2] -> MetricNetwork."""

    kind = "polania"

    def __init__(
        self,
        backbone_name: str = ORIGINAL_BACKBONE,
        *,
        weights: str | Path | None = None,
        pretrained: bool = True,
        bins: int = 8,
        normalize_input: bool = True,
        image_size: int | None = None,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        backbone = create_backbone(backbone_name, weights=weights, pretrained=pretrained)
        trunk = backbone.trunk()
        self.backbone_name = backbone_name
        self.bins = bins
        self.normalize_input = normalize_input
        self.image_size = image_size
        self.dropout_p = dropout
        self.head_dim = backbone.dim
        self.preprocess: Preprocess = replace(backbone.preprocess, image_size=image_size or backbone.preprocess.image_size)
        self.stem = trunk.stem.requires_grad_(False).eval()
        self.encoder = trunk.head
        self.metric = MetricNetwork(self.head_dim + 3 * bins, dropout)

    @property
    def embed_dim(self) -> int:
        """Width of an item embedding: encoder output plus histogram."""
        return self.head_dim + 3 * self.bins

    def train(self, mode: bool = True) -> "PolaniaNet":
        """Set training mode everywhere except the frozen stem, which stays in eval mode."""
        super().train(mode)
        self.stem.eval()
        return self

    @torch.no_grad()
    def stem_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Frozen stem output of a [N,3,H,W] batch in [0,1] (normalised first unless the original's raw input)."""
        x = self.preprocess.normalize(pixels) if self.normalize_input else pixels
        return self.stem(x)

    def embed(self, stem_features: torch.Tensor, histograms: torch.Tensor) -> torch.Tensor:
        """cat(head(stem features), histogram) [N, head_dim + 3*bins]."""
        return torch.cat([self.encoder(stem_features.float()), histograms.float()], 1)

    def score_logits(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        """MetricNetwork on the Hadamard product [e1*e2, h1*h2] (symmetric in a and b)."""
        return self.metric(ea * eb)

    def forward(self, stem_a: torch.Tensor, hist_a: torch.Tensor, stem_b: torch.Tensor, hist_b: torch.Tensor) -> torch.Tensor:
        """Logits [N] of item pairs from their stem features and histograms."""
        return self.pair_logits((stem_a, hist_a), (stem_b, hist_b))

    def encoder_weights(self) -> list[torch.Tensor]:
        """The trainable encoder filters (weight tensors of rank >= 2) that the sparsity prior penalises."""
        return [p for name, p in self.encoder.named_parameters() if p.requires_grad and p.ndim >= 2]

    def config(self) -> dict[str, Any]:
        """Constructor arguments (checkpoints store them; weights then come from the state dict)."""
        return {
            "backbone_name": self.backbone_name,
            "bins": self.bins,
            "normalize_input": self.normalize_input,
            "image_size": self.image_size,
            "dropout": self.dropout_p,
        }

    def input_spec(self) -> dict[str, Any]:
        """Item inputs are frozen-stem features and colour histograms."""
        return {"inputs": "stem", "backbone": self.backbone_name, "normalize": self.normalize_input,
                "image_size": self.preprocess.image_size, "bins": self.bins}

    def project_query(self, emb: torch.Tensor) -> torch.Tensor:
        """(W1 * e_q) [Q, 256, E] with bn1 folded into fc1: fc1(e_q * e_c) = (W1 * e_q) @ e_c."""
        w1 = self.metric.folded()[0]
        return w1[None, :, :] * emb[:, None, :]

    def projected_logits(self, candidates: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """The folded metric network on every (query item, candidate) pair: logits [Q, B]."""
        _, b1, w2, b2 = self.metric.folded()
        hidden = torch.relu(torch.einsum("be,qhe->qbh", candidates, queries) + b1)
        hidden = torch.relu(hidden @ w2.T + b2)
        fc3 = self.metric.fc3
        return hidden @ fc3.weight[0] + fc3.bias[0]


def load_original_polania(path: str | Path) -> PolaniaNet:
    """A PolaniaNet from the original checkpoint layout (VGG16 under `vgg.*`, metric network under `fc1/bn1/...`)."""
    flat = _flatten(torch.load(path, map_location="cpu", weights_only=True))
    model = PolaniaNet(ORIGINAL_BACKBONE, pretrained=False, normalize_input=False)
    state = {_original_key(key, path): value for key, value in flat.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(f"not an original PolaniaNet checkpoint: missing {missing[:3]}, unexpected {unexpected[:3]}", path=path)
    return model.eval()


def _flatten(state: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a possibly nested dict of state dicts, keyed by their dotted paths."""
    if isinstance(state, torch.Tensor):
        return {prefix: state}
    if not isinstance(state, dict):
        return {}
    flat = {}
    for key, value in state.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _original_key(key: str, path: str | Path) -> str:
    """Our key for an original one: vgg.N.* -> stem.N.* (conv1-4) or encoder.0.N.* (conv5), fcK/bnK.* -> metric.*."""
    vgg = re.search(r"(?:^|\.)vgg\.(\d+)\.(.+)$", key)
    if vgg:
        layer = int(vgg.group(1))
        return f"stem.{layer}.{vgg.group(2)}" if layer < VGG_STEM_LAYERS else f"encoder.0.{layer}.{vgg.group(2)}"
    metric = re.search(r"(?:^|\.)((?:fc[123]|bn[12])\..+)$", key)
    if metric:
        return f"metric.{metric.group(1)}"
    raise InputError(f"not an original PolaniaNet checkpoint: unexpected key {key!r}", path=path)


def _build(*, backbone: str, weights: str | Path | None = None, image_size: int | None = None) -> PolaniaNet:
    """A fresh PolaniaNet whose encoder starts from the backbone's pretrained weights."""
    return PolaniaNet(backbone, weights=weights, image_size=image_size)


# For PolaniaNet random and same-category negatives tied on synthetic Polyvore (AUC 0.989 vs 0.987 at 32 px;
# 0.925 vs 0.918 at 64 px), so it keeps the original's random pairs (6 per positive, first 5000 outfits).
register_kind(ModelKind(
    name="polania", description="PolaniaNet: Siamese CNN encoder + colour histograms, MAP loss (Polania & Gupte)",
    model=PolaniaNet, build=_build, loss=MAPLoss, load_options={"pretrained": False},
    recipe=Recipe(epochs=20, batch_size=64, max_outfits=5000, ratio=6, anchored=False, negatives="random"),
))
