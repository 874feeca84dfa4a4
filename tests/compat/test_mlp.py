"""CompatibilityMLP: the original's layout and outputs, and the CompatModel contract."""

from __future__ import annotations

import torch
from torch import nn

from outfitter.compat import CompatibilityMLP, load_original_mlp


class OriginalMLP(nn.Module):
    """The hackathon notebook's model, verbatim."""

    def __init__(self, embed_dim: int = 2048) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(embed_dim * 2, 512), nn.ReLU(), nn.Linear(512, 1), nn.Sigmoid())

    def forward(self, x1, x2):
        return self.fc(torch.cat([x1, x2], 1))


def test_state_dict_layout_matches_the_original():
    shapes = {k: tuple(v.shape) for k, v in CompatibilityMLP().state_dict().items()}
    assert shapes == {"fc.0.weight": (512, 4096), "fc.0.bias": (512,), "fc.2.weight": (1, 512), "fc.2.bias": (1,)}


def test_original_state_dict_loads_unchanged_and_gives_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    original = OriginalMLP()
    torch.save(original.state_dict(), tmp_path / "compat_mlp.pth")
    model = load_original_mlp(tmp_path / "compat_mlp.pth")
    x1, x2 = torch.randn(5, 2048).abs(), torch.randn(5, 2048).abs()
    with torch.no_grad():
        assert torch.equal(model(x1, x2), original(x1, x2))
        assert torch.allclose(model.score(model.embed(x1), model.embed(x2)), original(x1, x2)[:, 0], atol=1e-6)
    assert model.input_norm == "raw" and model.embed_dim == 2048


def test_score_logits_is_the_pre_sigmoid_output_and_order_matters():
    torch.manual_seed(1)
    model = CompatibilityMLP(8)
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    with torch.no_grad():
        assert torch.allclose(torch.sigmoid(model.score_logits(a, b)), model(a, b)[:, 0], atol=1e-7)
        assert not torch.allclose(model.score_logits(a, b), model.score_logits(b, a))
