"""GarmentNet: symmetric pair scores, exact split-form ranking, training from outfits, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter.compat import ComplementaryRanker, evaluate, load_model, save_checkpoint, train
from outfitter.compat.garment import GarmentNet


def random_items(n: int, seed: int = 0) -> tuple[torch.Tensor]:
    """Unit-norm histograms of n items."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.nn.functional.normalize(torch.rand(n, 144, generator=generator), dim=1),)


@pytest.fixture
def model() -> GarmentNet:
    torch.manual_seed(0)
    return GarmentNet().eval()


def test_pair_scores_are_symmetric(model):
    emb = model.embed(*random_items(20))
    assert torch.allclose(model.score(emb[:10], emb[10:]), model.score(emb[10:], emb[:10]))


def test_split_ranking_equals_the_pairwise_loop(model):
    emb = model.embed(*random_items(300)).detach()
    query, candidates = emb[:3], emb[3:].numpy()
    ranker = ComplementaryRanker(model, candidates)
    with torch.no_grad():
        naive = np.stack([model.score(q.expand(len(candidates), -1), torch.from_numpy(candidates)).numpy()
                          for q in query]).mean(0)
    scores = ranker.scores(query.numpy())
    np.testing.assert_allclose(scores, naive, atol=1e-6)
    best, best_scores = ranker.topk(query.numpy(), 10)
    assert list(best) == list(np.argsort(-naive, kind="stable")[:10])


def test_trains_on_outfits_and_ships_its_slots(synthetic, feature_cache, tmp_path):
    result = train(synthetic, model="garment", out=tmp_path / "g.pt", epochs=3, cache_dir=feature_cache,
                   progress=False)
    model, payload = load_model(result.checkpoint)
    assert isinstance(model, GarmentNet) and payload["kind"] == "garment"
    assert "tops" in payload["meta"]["slots"]["slots"]
    assert payload["meta"]["hyperparameters"]["resample"] is True
    metrics = evaluate(synthetic, "test", result.checkpoint, feature_cache, progress=False)
    assert 0.0 <= metrics["auc"] <= 1.0 and 0.0 <= metrics["fitb_accuracy"] <= 1.0


def test_checkpoint_round_trip_scores_alike(model, tmp_path):
    emb_inputs = random_items(8)
    loaded, _ = load_model(save_checkpoint(model, tmp_path / "g.pt"))
    with torch.no_grad():
        assert torch.equal(model.embed(*emb_inputs), loaded.embed(*emb_inputs))
