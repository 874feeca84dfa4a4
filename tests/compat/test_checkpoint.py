"""Checkpoints: one file, loads with weights_only=True, round-trips both models; clear errors otherwise."""

from __future__ import annotations

import pytest
import torch

from outfitter.compat import CompatibilityMLP, PolaniaNet, load_model, load_original_mlp, save_checkpoint
from outfitter.errors import InputError


def test_mlp_round_trip(tmp_path):
    torch.manual_seed(0)
    model = CompatibilityMLP(16, backbone="efficientnet_lite0", image_size=32).eval()
    path = save_checkpoint(model, tmp_path / "mlp.pt", {"metrics": {"auc": 0.9}, "out": tmp_path})
    payload = torch.load(path, weights_only=True)
    assert payload["kind"] == "mlp" and payload["backbone"] == "efficientnet_lite0" and payload["embed_dim"] == 16
    loaded, info = load_model(path)
    assert info["meta"] == {"metrics": {"auc": 0.9}, "out": str(tmp_path)}
    x = torch.randn(3, 16)
    with torch.no_grad():
        assert torch.equal(loaded(x, x.flip(0)), model(x, x.flip(0)))
    assert loaded.config() == model.config()
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.pt"]


def test_polania_round_trip(tmp_path):
    torch.manual_seed(0)
    model = PolaniaNet("efficientnet_lite0", pretrained=False, image_size=32)
    model.metric.bn1.running_mean.uniform_(-1, 1)
    model.eval()
    loaded, info = load_model(save_checkpoint(model, tmp_path / "polania.pt"))
    assert info["kind"] == "polania" and info["config"]["image_size"] == 32
    stems, hists = torch.randn(4, 192, 1, 1), torch.rand(4, 24)
    with torch.no_grad():
        assert torch.equal(loaded.embed(stems, hists), model.embed(stems, hists))
        assert torch.equal(loaded(stems, hists, stems.flip(0), hists), model(stems, hists, stems.flip(0), hists))


def test_foreign_files_are_input_errors(tmp_path):
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(InputError, match="not an outfitter compatibility checkpoint"):
        load_model(tmp_path / "text.pt")
    torch.save(CompatibilityMLP(4).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(InputError, match="load_original_mlp"):
        load_model(tmp_path / "bare.pt")
    with pytest.raises(InputError, match="file not found"):
        load_model(tmp_path / "missing.pt")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a CompatibilityMLP state dict"):
        load_original_mlp(tmp_path / "other.pt")
