"""One contract for every index kind (habit 15): exact search and each FAISS kind keep the `Index` protocol and
answer like exact search on the same seeded store, filters, exclusions and deletions included."""

from __future__ import annotations

import numpy as np
import pytest

from outfitter.catalog import CatalogStore
from outfitter.search import ExactIndex, FaissIndex, Index
from outfitter.types import Item


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> CatalogStore:
    rng = np.random.default_rng(4)
    vecs = rng.normal(size=(400, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = CatalogStore.create(tmp_path_factory.mktemp("contract") / "s", backbone="toy", dim=16)
    store.append([Item(f"i{i}", None, ("tops", "shoes")[i % 2]) for i in range(400)], vecs)
    store.delete(["i3", "i8"])
    return store


@pytest.mark.parametrize("make", [ExactIndex, lambda s: FaissIndex.build(s, "flat"), lambda s: FaissIndex.build(s, "hnsw")],
                         ids=["exact", "faiss-flat", "faiss-hnsw"])
def test_every_index_kind_keeps_the_contract(store, make):
    index = make(store)
    assert isinstance(index, Index)
    queries = np.stack([store.vector("i0"), store.vector("i1")])
    expected = ExactIndex(store).search(queries, 5, category="shoes", exclude=[{"i1"}, set()])
    found = index.search(queries, 5, category="shoes", exclude=[{"i1"}, set()])
    assert [[i for i, _ in hits] for hits in found] == [[i for i, _ in hits] for hits in expected]
    every = index.search(queries, 400)
    assert all("i3" not in dict(hits) and "i8" not in dict(hits) for hits in every)
    assert all([s for _, s in hits] == sorted((s for _, s in hits), reverse=True) for hits in every)
