"""End to end on synthetic Polyvore: both models learn the colour-style rule; files and metrics are recorded."""

from __future__ import annotations

import pytest
import torch

from outfitter.compat import evaluate, load_model, train
from outfitter.compat.train import batches
from outfitter.errors import InputError

IMAGE_SIZE = 32
SETTINGS = {
    "mlp": {"epochs": 8, "lr": 1e-3, "batch_size": 64},
    "polania": {"epochs": 2, "lr": 3e-3, "batch_size": 64, "ratio": 3},
}


@pytest.fixture(scope="module", params=["mlp", "polania"])
def trained(request, synthetic, feature_cache, tmp_path_factory):
    """(kind, TrainResult, test-split metrics) for each model, trained once."""
    kind = request.param
    out = tmp_path_factory.mktemp(kind) / f"{kind}.pt"
    result = train(synthetic, model=kind, out=out, cache_dir=feature_cache, image_size=IMAGE_SIZE,
                   progress=False, **SETTINGS[kind])
    metrics = evaluate(synthetic, "test", result.checkpoint, feature_cache, roc_path=out.with_suffix(".roc.png"),
                       progress=False)
    return kind, result, metrics


def test_model_learns_the_rule(trained):
    kind, _, metrics = trained
    assert set(metrics) == {"auc", "fitb_accuracy", "recall@10", "recall@30", "recall@50"}
    assert metrics["auc"] > 0.8, (kind, metrics)
    assert metrics["fitb_accuracy"] > 0.5, (kind, metrics)


def test_files_and_history(trained):
    kind, result, _ = trained
    assert result.checkpoint.is_file() and result.curves.is_file()
    assert result.checkpoint.with_suffix(".roc.png").is_file()
    assert [row["epoch"] for row in result.history] == list(range(1, SETTINGS[kind]["epochs"] + 1))
    model, info = load_model(result.checkpoint)
    assert model.kind == kind and info["backbone"] == "efficientnet_lite0"
    assert info["meta"]["metrics"] == result.best
    assert info["meta"]["hyperparameters"]["lr"] == SETTINGS[kind]["lr"]
    assert torch.load(result.checkpoint, weights_only=True)["kind"] == kind


def test_training_is_deterministic(trained, synthetic, feature_cache, tmp_path):
    kind, result, _ = trained
    again = train(synthetic, model=kind, out=tmp_path / "again.pt", cache_dir=feature_cache, image_size=IMAGE_SIZE,
                  progress=False, **{**SETTINGS[kind], "epochs": 1})
    assert again.history[0] == result.history[0]


def test_batches_never_leave_a_single_pair():
    assert [len(b) for b in batches(129, 64)] == [64, 65]
    assert [len(b) for b in batches(130, 64)] == [64, 64, 2]
    assert [len(b) for b in batches(1, 64)] == [1]


def test_unknown_model_is_an_input_error(synthetic, tmp_path):
    with pytest.raises(InputError, match="unknown model"):
        train(synthetic, model="transformer", out=tmp_path / "x.pt")


class Lookbook:
    """A shop's own outfits, not a Polyvore reader: anything with the OutfitSource methods trains and evaluates."""

    def __init__(self, source) -> None:
        self._source = source

    def items(self, split=None):
        return self._source.items(split)

    def outfits(self, split):
        return self._source.outfits(split)

    def compatibility(self, split):
        return self._source.compatibility(split)

    def fitb(self, split):
        return self._source.fitb(split)


def test_any_outfit_source_trains_and_evaluates(synthetic, feature_cache, tmp_path):
    from outfitter.datasets import OutfitSource

    lookbook = Lookbook(synthetic)
    assert isinstance(lookbook, OutfitSource) and isinstance(synthetic, OutfitSource)
    result = train(lookbook, model="mlp", out=tmp_path / "shop.pt", cache_dir=feature_cache, image_size=IMAGE_SIZE,
                   progress=False, epochs=2, batch_size=64)
    metrics = evaluate(lookbook, "test", result.checkpoint, feature_cache, progress=False)
    assert 0.0 <= metrics["auc"] <= 1.0 and result.checkpoint.is_file()
