"""Query expansion: a photo's closest neighbours vote on what it shows, so a near-duplicate of another kind no
longer wins alone; filters, exclusions and deletions are kept as by every index."""

from __future__ import annotations

import numpy as np
import pytest

from outfitter.catalog import CatalogStore
from outfitter.recommend import Catalog
from outfitter.search import ExactIndex, ExpandedIndex, Index
from outfitter.types import Item


def unit(*rows: list[float]) -> np.ndarray:
    vecs = np.asarray(rows, dtype=np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


@pytest.fixture()
def shop(tmp_path) -> CatalogStore:
    """Six dresses close together along x, one skirt photo that happens to sit nearer the query."""
    rng = np.random.default_rng(0)
    dresses = unit(*([1.0, 0.0, 0.0] + rng.normal(scale=0.05, size=3) for _ in range(6)))
    skirt = unit([0.6, 0.8, 0.0])
    store = CatalogStore.create(tmp_path / "s", backbone="toy", dim=3)
    store.append([Item(f"dress{i}", None, "dress") for i in range(6)] + [Item("skirt", None, "skirt")],
                 np.concatenate([dresses, skirt]))
    return store


QUERY = unit([0.85, 0.527, 0.0])  # cosine 0.93 with the skirt, about 0.85 with each dress


def test_neighbours_outvote_one_near_duplicate(shop):
    plain = ExactIndex(shop).search(QUERY, 3)[0]
    expanded = ExpandedIndex(ExactIndex(shop), neighbours=5).search(QUERY, 3)[0]
    assert plain[0][0] == "skirt"
    assert len(expanded) == 3 and all(i.startswith("dress") for i, _ in expanded)


def test_expanded_query_is_the_query_plus_weighted_neighbours(shop):
    index = ExpandedIndex(ExactIndex(shop), neighbours=2, alpha=3.0, query_weight=3.0)
    first = ExactIndex(shop).search(QUERY, 2)[0]
    moved = 3.0 * QUERY[0] + sum(score ** 3 * shop.vector(i) for i, score in first)
    expected = ExactIndex(shop).search(moved / np.linalg.norm(moved), 4)[0]
    found = index.search(QUERY, 4)[0]
    assert [i for i, _ in found] == [i for i, _ in expected]
    assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-6)


def test_keeps_the_index_contract(shop):
    index = ExpandedIndex(ExactIndex(shop))
    assert isinstance(index, Index) and index.store is shop
    shop.delete(["dress5"])
    hits = index.search(np.stack([QUERY[0], shop.vector("dress0")]), 10, exclude=[set(), {"dress0"}])
    assert all("dress5" not in dict(row) for row in hits)
    assert "dress0" not in dict(hits[1])
    assert all([s for _, s in row] == sorted((s for _, s in row), reverse=True) for row in hits)
    assert [i for i, _ in index.search(QUERY, 5, category="skirt")[0]] == ["skirt"]
    # within one category the kind is fixed: no expansion, the photo's own look ranks
    assert index.search(QUERY, 3, category="dress") == ExactIndex(shop).search(QUERY, 3, category="dress")
    assert index.search(QUERY, 5, category="hats") == [[]]


def test_catalog_ranks_by_the_expanded_query_and_scores_by_the_plain_cosine(shop):
    shop.append([Item("photo", None, "dress")], QUERY)
    found = Catalog.open(shop.root).similar(item_id="photo", k=3)
    assert all(h.item_id.startswith("dress") for h in found)
    assert all(h.score == pytest.approx(float(QUERY[0] @ shop.vector(h.item_id)), abs=1e-6) for h in found)
    plain = Catalog.open(shop.root, expansion=0).similar(item_id="photo", k=3)
    assert plain[0].item_id == "skirt" and plain[0].score == pytest.approx(0.93, abs=0.01)


def test_refuses_a_neighbour_count_below_one(shop):
    with pytest.raises(ValueError, match="neighbours"):
        ExpandedIndex(ExactIndex(shop), neighbours=0)
