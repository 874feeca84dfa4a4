"""CompatibilityMLP: the original hackathon's pairwise model on frozen backbone vectors (SPEC section 1)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from outfitter.backbones import get_spec
from outfitter.compat.base import CompatModel
from outfitter.compat.losses import BCELoss
from outfitter.compat.registry import ModelKind, Recipe, register_kind

INPUT_NORMS = ("l2", "raw")


class CompatibilityMLP(CompatModel):
    """fc(cat(x1, x2)) -> probability; the state dict keys match the original (fc.0.*, fc.2.*).

    Order-sensitive: x1 is the query (or earlier outfit) item, x2 the candidate (or later) item.
    `input_norm` says which item vectors it expects: "l2" (unit-norm, as the catalogue stores them; ours)
    or "raw" (the backbone's pooled output, as the original was trained on).
    """

    kind = "mlp"
    embeds_inputs_unchanged = True

    def __init__(
        self,
        embed_dim: int = 2048,
        *,
        hidden_dim: int = 512,
        backbone: str = "resnet50",
        input_norm: str = "l2",
        image_size: int | None = None,
    ) -> None:
        super().__init__()
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {INPUT_NORMS}, got {input_norm!r}")
        self.embed_dim = embed_dim
        self.hidden_dim = hidden_dim
        self.backbone_name = backbone
        self.input_norm = input_norm
        self.image_size = image_size
        self.fc = nn.Sequential(nn.Linear(2 * embed_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 1), nn.Sigmoid())

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Probability [N, 1] that x1 and x2 go together (exactly the original forward)."""
        return self.fc(torch.cat([x1, x2], 1))

    def embed(self, vectors: torch.Tensor) -> torch.Tensor:
        """Identity: the item vectors are the embeddings."""
        return vectors

    def score_logits(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        """The pre-sigmoid output [N]."""
        return self.fc[:-1](torch.cat([ea, eb], 1)).squeeze(1)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (checkpoints store them)."""
        return {
            "embed_dim": self.embed_dim,
            "hidden_dim": self.hidden_dim,
            "backbone": self.backbone_name,
            "input_norm": self.input_norm,
            "image_size": self.image_size,
        }

    def input_spec(self) -> dict[str, Any]:
        """Item inputs are backbone vectors, unit-norm or raw."""
        return {"inputs": "vectors", "backbone": self.backbone_name, "normalize": self.input_norm == "l2",
                "image_size": self.image_size}

    def project_candidates(self, emb: torch.Tensor) -> torch.Tensor:
        """W1b @ c + b1 [B, hidden]: the candidate's half of the first layer."""
        first = self.fc[0]
        return emb @ first.weight[:, self.embed_dim :].T + first.bias

    def project_query(self, emb: torch.Tensor) -> torch.Tensor:
        """W1a @ q [Q, hidden]: the query's half of the first layer."""
        return emb @ self.fc[0].weight[:, : self.embed_dim].T

    def relu_readout(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The output layer after the hidden ReLU: logit = b2 + w2 . relu(P_c + A_q)."""
        out = self.fc[2]
        return out.weight[0], out.bias[0]


def _build(*, backbone: str, weights: object = None, image_size: int | None = None) -> CompatibilityMLP:
    """A fresh MLP on the given backbone's vectors (the vectors are computed outside the model)."""
    return CompatibilityMLP(get_spec(backbone).dim, backbone=backbone, image_size=image_size)


# Default negatives, measured on write_synthetic_polyvore(n_outfits=(200, 40, 120), seed=1), efficientnet_lite0 at
# 32 px, batch 64, lr 1e-3, 10 epochs, test split, mean of seeds 1-3 (AUC / FITB / Recall@10): random 0.976 / 0.903
# / 0.427, same-category 0.984 / 0.914 / 0.440; at 64 px on (200, 40, 40), seeds 42 and 7: random 0.977 / 0.900,
# same-category 0.991 / 0.925. Same-category negatives help the MLP on every metric. (The original used random.)
register_kind(ModelKind(
    name="mlp", description="CompatibilityMLP: the original's MLP on two concatenated backbone vectors",
    model=CompatibilityMLP, build=_build, loss=BCELoss,
    recipe=Recipe(epochs=10, batch_size=1024, max_outfits=None, ratio=1, anchored=True, negatives="same-category"),
))
