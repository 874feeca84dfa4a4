"""Exact search against a brute-force reference, with category filters and exclusions."""

from __future__ import annotations

import numpy as np
import pytest

from outfitter.catalog import CatalogStore
from outfitter.search import ExactIndex, category_precision_at_k, topk_rows
from outfitter.types import Item


@pytest.fixture
def filled(tmp_path):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(300, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    cats = [["tops", "shoes", "bags"][i % 3] for i in range(300)]
    store = CatalogStore.create(tmp_path / "s", backbone="toy", dim=16)
    for lo in range(0, 300, 100):
        store.append([Item(f"i{i}", None, cats[i]) for i in range(lo, lo + 100)], vecs[lo:lo + 100])
    return store, vecs, np.array(cats)


def reference(vecs, cats, q, k, category=None, exclude=()):
    scores = vecs @ q
    order = [i for i in np.argsort(-scores, kind="stable")
             if (category is None or cats[i] == category) and f"i{i}" not in exclude]
    return [(f"i{i}", float(scores[i])) for i in order[:k]]


@pytest.mark.parametrize("category", [None, "shoes"])
def test_matches_brute_force_across_blocks(filled, category):
    store, vecs, cats = filled
    index = ExactIndex(store, block_rows=64)
    queries = vecs[[0, 5, 17]] + 0.1
    got = index.search(queries, 7, category=category)
    for q, hits in zip(queries, got):
        want = reference(vecs, cats, q, 7, category)
        assert [h[0] for h in hits] == [w[0] for w in want]
        np.testing.assert_allclose([h[1] for h in hits], [w[1] for w in want], rtol=1e-5)


def test_excludes_per_query_and_skips_deleted(filled):
    store, vecs, cats = filled
    store.delete(["i1"])
    hits = ExactIndex(store).search(vecs[[0]], 5, exclude=[{"i0"}])[0]
    assert [h[0] for h in hits] == [w[0] for w in reference(vecs, cats, vecs[0], 5, exclude={"i0", "i1"})]


def test_unknown_category_and_small_catalogue(filled):
    store, vecs, _ = filled
    index = ExactIndex(store)
    assert index.search(vecs[:1], 5, category="hats") == [[]]
    assert len(index.search(vecs[:1], 1000, category="bags")[0]) == 100


def test_topk_rows_orders_best_first_with_stable_ties():
    scores = np.array([[0.1, 0.9, 0.5, 0.9]])
    assert topk_rows(scores, 3).tolist() == [[1, 3, 2]]


def test_category_precision_by_hand():
    vecs = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    p = category_precision_at_k(vecs, ["a", "a", "b", "a"], ks=(1, 2))
    # nearest others: 0->1 (a, hit), 1->0 (hit), 2->3 (miss), 3->2 (miss); second nearest: 0->3 hit, 1->3 hit, 2->1 miss, 3->1 hit
    assert p == {1: 0.5, 2: pytest.approx((1 + 1 + 0 + 0.5) / 4)}
