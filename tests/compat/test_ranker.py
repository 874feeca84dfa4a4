"""The fast complementary ranker equals the plain pairwise loop, for both models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter.compat import CompatibilityMLP, ComplementaryRanker, PolaniaNet


def naive_scores(model, queries: np.ndarray, catalogue: np.ndarray) -> np.ndarray:
    """Mean over query items of model.score(query item, candidate), one pair at a time."""
    q, c = torch.from_numpy(queries), torch.from_numpy(catalogue)
    with torch.no_grad():
        return np.array([
            np.mean([float(model.score(q[i : i + 1], c[j : j + 1])) for i in range(len(q))]) for j in range(len(c))
        ])


def mlp() -> CompatibilityMLP:
    torch.manual_seed(0)
    return CompatibilityMLP(16, hidden_dim=32).eval()


def polania() -> PolaniaNet:
    torch.manual_seed(0)
    net = PolaniaNet("efficientnet_lite0", pretrained=False, image_size=32)
    for bn in (net.metric.bn1, net.metric.bn2):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.mark.parametrize("make", [mlp, polania])
def test_scores_and_topk_equal_the_pairwise_loop(make):
    model = make()
    rng = np.random.default_rng(0)
    catalogue = rng.random((37, model.embed_dim), dtype=np.float32)
    queries = rng.random((3, model.embed_dim), dtype=np.float32)
    ranker = ComplementaryRanker(model, catalogue, block_size=8)
    expected = naive_scores(model, queries, catalogue)
    assert np.max(np.abs(ranker.scores(queries) - expected)) <= 1e-5
    rows, scores = ranker.topk(queries, 10)
    assert rows.tolist() == np.argsort(-expected, kind="stable")[:10].tolist()
    assert np.allclose(scores, expected[rows], atol=1e-5)


def test_topk_respects_the_candidate_mask():
    model = mlp()
    rng = np.random.default_rng(1)
    catalogue = rng.random((20, 16), dtype=np.float32)
    mask = np.zeros(20, dtype=bool)
    mask[[2, 5, 11, 17]] = True
    rows, _ = ComplementaryRanker(model, catalogue).topk(catalogue[:2], 10, candidate_mask=mask)
    expected = naive_scores(model, catalogue[:2], catalogue)
    assert rows.tolist() == sorted([2, 5, 11, 17], key=lambda r: -expected[r])
