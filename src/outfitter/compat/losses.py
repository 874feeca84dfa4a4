"""Pair losses: the base checks shapes and reduces the data term; each subclass adds one prior hook."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from outfitter.compat.base import CompatModel


class PairLoss(nn.Module):
    """Mean BCE-with-logits over pairs plus `penalty(model)`, the subclass's hook (a negative log prior)."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, model: CompatModel | None = None) -> torch.Tensor:
        """The scalar loss of a batch of pair logits [N] against 0/1 labels [N]."""
        _check_shapes(logits, labels)
        data = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return data + self.penalty(model) if model is not None else data

    def penalty(self, model: CompatModel) -> torch.Tensor:
        """The regulariser added to the data term (none here)."""
        return torch.zeros(())


def _check_shapes(logits: torch.Tensor, labels: torch.Tensor) -> None:
    """Refuse anything but matching 1-d logits and labels (a [N,1] vs [N] mix would broadcast silently)."""
    if logits.ndim != 1 or labels.shape != logits.shape:
        raise ValueError(f"expected logits [N] and labels [N], got {tuple(logits.shape)} and {tuple(labels.shape)}")


class BCELoss(PairLoss):
    """Plain binary cross-entropy: the CompatibilityMLP's loss."""


class MAPLoss(PairLoss):
    """PolaniaNet's MAP objective: BCE + matrix-normal prior on fc1/fc2 + L1 priors on the encoder and fc3."""

    def __init__(self, l1: float = 1e-4, l2: float = 1e-5, l3: float = 1e-5) -> None:
        super().__init__()
        self.l1, self.l2, self.l3 = l1, l2, l3

    def penalty(self, model: CompatModel) -> torch.Tensor:
        """l1 * matrix-normal + l2 * encoder L1 + l3 * fc3 L1."""
        terms = self.terms(model)
        return self.l1 * terms["matrix_normal"] + self.l2 * terms["encoder_l1"] + self.l3 * terms["fc3_l1"]

    def terms(self, model: CompatModel) -> dict[str, torch.Tensor]:
        """The three unweighted prior terms, for logging and tests."""
        metric = model.metric
        return {
            "matrix_normal": matrix_normal(metric.fc1.weight) + matrix_normal(metric.fc2.weight),
            "encoder_l1": sum((w.abs().sum() for w in model.encoder_weights()), torch.zeros(())),
            "fc3_l1": metric.fc3.weight.abs().sum(),
        }


def matrix_normal(weight: torch.Tensor) -> torch.Tensor:
    """tr(W Lambda^-1 W^T) with Lambda = I * ||W||_F^2 held constant (detached) for this batch."""
    return (weight * weight).sum() / (weight.detach() * weight.detach()).sum()
