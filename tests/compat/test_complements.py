"""A model bound to a store: projections kept per segment, refreshed as the store changes, ranked exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from outfitter.catalog.store import CatalogStore
from outfitter.compat import CompatibilityMLP
from outfitter.compat.complements import PROJECTIONS_DIR, Complements
from outfitter.types import Item

DIM = 24
CATEGORIES = ("tops", "bottoms", "shoes")


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def add_items(store: CatalogStore, start: int, n: int, rng: np.random.Generator) -> None:
    items = [Item(f"item{i}", category=CATEGORIES[i % 3]) for i in range(start, start + n)]
    store.append(items, unit_vectors(rng, n))


@pytest.fixture
def store(tmp_path) -> CatalogStore:
    store = CatalogStore.create(tmp_path / "store", backbone="efficientnet_lite0", dim=DIM)
    add_items(store, 0, 60, np.random.default_rng(0))
    return store


@pytest.fixture
def model() -> CompatibilityMLP:
    torch.manual_seed(0)
    return CompatibilityMLP(DIM, hidden_dim=32, backbone="efficientnet_lite0").eval()


def tables(store: CatalogStore) -> set[str]:
    """Segment names that have a projection table in the store."""
    return {p.parent.name for p in (store.root / PROJECTIONS_DIR).glob("*/*/table.json")}


def pairwise_best(store: CatalogStore, model: CompatibilityMLP, query: str, category: str, k: int) -> list[str]:
    """The k best live items of a category, each scored by the model on the pair (query, candidate)."""
    ids = [i for i in store.ids() if store.get(i).category == category and i != query]
    with torch.no_grad():
        q = torch.tensor(store.vector(query))[None]
        scores = [float(model.score(q, torch.tensor(store.vector(i))[None])) for i in ids]
    return [ids[j] for j in np.argsort(-np.asarray(scores), kind="stable")[:k]]


def test_projections_are_built_once_per_segment_and_follow_the_store(store, model):
    Complements(store, model, {})
    first = tables(store)
    assert first == {seg.name for seg in store.segments}
    add_items(store, 60, 15, np.random.default_rng(1))
    Complements(CatalogStore.open(store.root), model, {})
    assert first < tables(store) and len(tables(store)) == 2
    store = CatalogStore.open(store.root)
    store.compact()
    Complements(CatalogStore.open(store.root), model, {})
    assert tables(store) == {seg.name for seg in CatalogStore.open(store.root).segments}


def test_ranking_over_several_segments_equals_pairwise_scoring(store, model):
    add_items(store, 60, 30, np.random.default_rng(2))
    store = CatalogStore.open(store.root)
    store.delete(["item3", "item6"])
    complements = Complements(CatalogStore.open(store.root), model, {})
    query = complements.query_embeddings(["item0"])
    found = complements.rank(query, exclude=["item0"], targets={"tops": ["tops"], "shoes": ["shoes"],
                                                                 "either": ["tops", "shoes"]}, k=5)
    store = CatalogStore.open(store.root)
    assert [i for i, _ in found["tops"]] == pairwise_best(store, model, "item0", "tops", 5)
    assert [i for i, _ in found["shoes"]] == pairwise_best(store, model, "item0", "shoes", 5)
    assert "item3" not in [i for i, _ in found["tops"]]
    best_of_both = sorted(found["tops"] + found["shoes"], key=lambda hit: -hit[1])[:5]
    assert found["either"] == best_of_both


def test_another_model_gets_its_own_tables(store, model):
    Complements(store, model, {})
    torch.manual_seed(1)
    Complements(store, CompatibilityMLP(DIM, hidden_dim=32, backbone="efficientnet_lite0").eval(), {})
    assert len(list((store.root / PROJECTIONS_DIR).iterdir())) == 2


def test_a_read_only_store_keeps_its_projections_in_the_user_cache(store, model, tmp_path, monkeypatch):
    import os

    from outfitter.catalog import store as store_module

    real_access = os.access
    monkeypatch.setattr(store_module.os, "access", lambda path, mode: False if Path(path) == store.root
                        else real_access(path, mode))
    monkeypatch.setattr(store_module, "SIDECAR_FALLBACK", tmp_path / "cache")
    complements = Complements(CatalogStore.open(store.root), model, {})
    found = complements.rank(complements.query_embeddings(["item0"]), exclude=["item0"], targets={"tops": ["tops"]},
                             k=3)
    assert len(found["tops"]) == 3
    assert not (store.root / PROJECTIONS_DIR).exists() and list((tmp_path / "cache").rglob("*.npy"))


def test_a_read_only_store_without_garment_features_says_how_to_get_them(store, monkeypatch):
    import os

    from outfitter.catalog import store as store_module
    from outfitter.compat.garment import GarmentNet
    from outfitter.errors import StoreError

    real_access = os.access
    monkeypatch.setattr(store_module.os, "access", lambda path, mode: False if Path(path) == store.root
                        else real_access(path, mode))
    with pytest.raises(StoreError, match="read-only, and indexed before garment_hsv features existed"):
        Complements(CatalogStore.open(store.root), GarmentNet(), {})
