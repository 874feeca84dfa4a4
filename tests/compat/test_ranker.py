"""The fast complementary ranker equals the plain pairwise loop, for both models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter.compat import CompatibilityMLP, ComplementaryRanker, PolaniaNet
from outfitter.compat.projections import ProjectionTable
from outfitter.compat.ranker import SCREEN_FROM


def naive_scores(model, queries: np.ndarray, catalogue: np.ndarray) -> np.ndarray:
    """Mean over query items of model.score(query item, candidate), one pair at a time."""
    q, c = torch.from_numpy(queries), torch.from_numpy(catalogue)
    with torch.no_grad():
        return np.array([
            np.mean([float(model.score(q[i : i + 1], c[j : j + 1])) for i in range(len(q))]) for j in range(len(c))
        ])


def batched_scores(model, queries: np.ndarray, catalogue: np.ndarray) -> np.ndarray:
    """The same mean pairwise probability, the model run on all pairs of one query item at a time."""
    c = torch.from_numpy(catalogue)
    with torch.no_grad():
        return np.mean([model.score(torch.from_numpy(q).expand(len(c), -1), c).numpy() for q in queries], axis=0)


def mlp(dim: int = 16, hidden: int = 32) -> CompatibilityMLP:
    torch.manual_seed(0)
    return CompatibilityMLP(dim, hidden_dim=hidden).eval()


def polania() -> PolaniaNet:
    torch.manual_seed(0)
    net = PolaniaNet("efficientnet_lite0", pretrained=False, image_size=32)
    for bn in (net.metric.bn1, net.metric.bn2):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def expected_topk(expected: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[int]:
    rows = np.arange(len(expected)) if rows is None else rows
    return rows[np.lexsort((rows, -expected[rows]))[:k]].tolist()


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
    assert rows.tolist() == expected_topk(expected, 10)
    assert np.allclose(scores, expected[rows], atol=1e-5)


def test_topk_is_limited_to_the_given_rows():
    model = mlp()
    rng = np.random.default_rng(1)
    catalogue = rng.random((20, 16), dtype=np.float32)
    rows, _ = ComplementaryRanker(model, catalogue).topk(catalogue[:2], 10, rows=np.array([2, 5, 11, 17]))
    expected = naive_scores(model, catalogue[:2], catalogue)
    assert rows.tolist() == sorted([2, 5, 11, 17], key=lambda r: -expected[r])


@pytest.mark.parametrize(("k", "n_queries"), [(1, 3), (10, 3), (250, 3), (10, 1), (10, 4), (10, 6)])
def test_screened_topk_equals_full_scoring_on_a_large_catalogue(k, n_queries):
    model = mlp(dim=64, hidden=128)
    rng = np.random.default_rng(2)
    catalogue = rng.standard_normal((SCREEN_FROM + 1000, 64)).astype(np.float32)  # large enough to be screened
    queries = rng.standard_normal((n_queries, 64)).astype(np.float32)
    ranker = ComplementaryRanker(model, catalogue)
    expected = batched_scores(model, queries, catalogue)
    rows, scores = ranker.topk(queries, k)
    assert rows.tolist() == expected_topk(expected, k)
    assert np.max(np.abs(scores - expected[rows])) <= 1e-5
    assert np.max(np.abs(ranker.scores(queries) - expected)) <= 1e-5


def test_screen_bounds_hold_and_prune_most_rows():
    model = mlp(dim=64, hidden=128)
    rng = np.random.default_rng(3)
    catalogue = rng.standard_normal((3000, 64)).astype(np.float32)
    queries = rng.standard_normal((2, 64)).astype(np.float32)
    ranker = ComplementaryRanker(model, catalogue)
    rows = np.arange(3000)
    survivors = ranker._screen(queries, rows, 10)
    exact = ranker.scores(queries)
    assert set(expected_topk(exact, 10)) <= set(survivors.tolist())
    assert len(survivors) < 300


def test_duplicate_rows_tie_to_the_lower_row():
    model = mlp()
    rng = np.random.default_rng(4)
    catalogue = np.repeat(rng.random((50, 16), dtype=np.float32), 2, axis=0)
    rows, scores = ComplementaryRanker(model, catalogue).topk(catalogue[:1], 6)
    assert rows[0::2].tolist() == (rows[1::2] - 1).tolist()
    assert scores[0::2].tolist() == scores[1::2].tolist()


def test_rows_spread_over_several_tables_rank_like_one_table(tmp_path):
    model = mlp()
    rng = np.random.default_rng(5)
    catalogue = rng.random((90, 16), dtype=np.float32)
    queries = rng.random((2, 16), dtype=np.float32)
    parts = [catalogue[:40], catalogue[40:41], catalogue[41:]]
    tables = [ProjectionTable.load_or_build(model, part, tmp_path / f"seg{i}") for i, part in enumerate(parts)]
    split, whole = ComplementaryRanker(model, tables=tables), ComplementaryRanker(model, catalogue)
    subset = np.array([3, 40, 41, 77, 89])
    assert np.array_equal(split.scores(queries, subset), whole.scores(queries, subset))
    for k in (1, 5, 30):
        assert np.array_equal(split.topk(queries, k)[0], whole.topk(queries, k)[0])


def test_no_query_items_is_an_error():
    ranker = ComplementaryRanker(mlp(), np.ones((3, 16), dtype=np.float32))
    with pytest.raises(ValueError, match="no query items"):
        ranker.scores(np.zeros((0, 16), dtype=np.float32))
