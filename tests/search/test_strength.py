"""Match strength in words, calibrated on the catalogue's own neighbourhoods."""

from __future__ import annotations

import numpy as np

from outfitter.catalog import CatalogStore
from outfitter.search import ExactIndex
from outfitter.search.strength import MatchScale
from outfitter.types import Item


def clustered_store(tmp_path, spread: float) -> tuple[CatalogStore, np.ndarray]:
    """10 clusters of 20 items (a category each); `spread` sets how far items sit from their cluster centre."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 32))
    vecs = np.repeat(centres, 20, axis=0) + spread * rng.normal(size=(200, 32))
    vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
    store = CatalogStore.create(tmp_path / f"s{spread}", backbone="toy", dim=32)
    store.append([Item(f"i{i}", None, f"c{i // 20}") for i in range(200)], vecs)
    return store, centres


def test_a_hit_is_read_against_the_catalogues_own_neighbourhoods(tmp_path):
    store, centres = clustered_store(tmp_path, spread=0.3)
    scale = MatchScale.fit(ExactIndex(store), store)
    assert -1 < scale.similar <= scale.very < 1
    own = store.vector("i0")
    assert scale.label(float(own @ own)) == "very similar"
    stranger = np.random.default_rng(9).normal(size=32)
    stranger /= np.linalg.norm(stranger)
    best = ExactIndex(store).search(stranger[None].astype(np.float32), 1)[0][0][1]
    assert scale.label(best) == "loosely related"  # a photo of something the shop does not sell


def test_the_same_score_means_different_things_in_different_catalogues(tmp_path):
    tight, _ = clustered_store(tmp_path, spread=0.1)
    loose, _ = clustered_store(tmp_path, spread=0.6)
    tight_scale = MatchScale.fit(ExactIndex(tight), tight)
    loose_scale = MatchScale.fit(ExactIndex(loose), loose)
    score = (tight_scale.similar + loose_scale.very) / 2
    assert loose_scale.very < tight_scale.similar
    assert tight_scale.label(score) == "loosely related" and loose_scale.label(score) == "very similar"


def test_a_tiny_catalogue_has_no_scale_and_a_scale_is_kept_while_the_size_holds(tmp_path):
    store = CatalogStore.create(tmp_path / "tiny", backbone="toy", dim=4)
    store.append([Item("a"), Item("b")], np.eye(4, dtype=np.float32)[:2])
    assert MatchScale.fit(ExactIndex(store), store) is None
    scale = MatchScale(0.9, 0.8, items=100)
    assert scale.fits(109) and not scale.fits(111)


def test_a_store_without_categories_is_read_against_random_pairs(tmp_path):
    vecs = np.random.default_rng(1).normal(size=(50, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = CatalogStore.create(tmp_path / "plain", backbone="toy", dim=8)
    store.append([Item(f"i{i}") for i in range(50)], vecs)
    scale = MatchScale.fit(ExactIndex(store), store)
    assert scale.similar < scale.very and scale.label(1.0) == "very similar" and scale.label(-1.0) == "loosely related"
