"""FAISS indexes against exact search on seeded clustered data: recall, filters, deletions, appends, saving."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from outfitter.catalog import CatalogStore
from outfitter.search import ExactIndex, FaissIndex, faiss_index
from outfitter.search.faiss_index import choose_kind, default_nlist, index_root
from outfitter.types import Item

DIM = 48
N = 4000
CATEGORIES = [f"c{i}" for i in range(10)]


def clustered(n: int, seed: int, dim: int = DIM) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around per-category styles that share 'looks' across categories, plus a low-rank spread."""
    rng = np.random.default_rng(0)
    shapes = [(10, dim), (6, dim), (10, 8, dim), (6, dim)]
    centre, look, style, basis = (rng.standard_normal(s) / np.sqrt(dim) for s in shapes)
    style = 0.6 * look[rng.integers(6, size=(10, 8))] + 0.8 * style
    rng = np.random.default_rng(seed)
    cats = rng.integers(10, size=n)
    x = (centre[cats] + style[cats, rng.integers(8, size=n)] + 0.5 * rng.standard_normal((n, 6)) @ basis
         + 0.3 * rng.standard_normal((n, dim)) / np.sqrt(dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), cats


def make_store(root, n: int = N, dtype: str = "float32", segments: int = 2) -> CatalogStore:
    vecs, cats = clustered(n, seed=1)
    store = CatalogStore.create(root, backbone="toy", dim=DIM, dtype=dtype)
    for part in np.array_split(np.arange(n), segments):
        store.append([Item(f"i{i}", None, CATEGORIES[cats[i]]) for i in part], vecs[part])
    return store


def recall(got, want) -> float:
    return float(np.mean([len({h[0] for h in g} & {h[0] for h in w}) / max(len(w), 1) for g, w in zip(got, want)]))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> CatalogStore:
    return make_store(tmp_path_factory.mktemp("faiss") / "s")


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return clustered(100, seed=2)[0]


BUILDS = {"ivf": {"nlist": 32}, "ivfpq": {"nlist": 32, "m": 12}, "hnsw": {}, "flat": {}}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def built(request, store) -> FaissIndex:
    return FaissIndex.build(store, request.param, **BUILDS[request.param])


def filtered(index, queries: np.ndarray, cats: np.ndarray) -> list:
    """Each query's top-10 within its own filter category."""
    out = [None] * len(queries)
    for c in np.unique(cats):
        rows = np.flatnonzero(cats == c)
        for r, hits in zip(rows, index.search(queries[rows], 10, category=f"c{c}")):
            out[r] = hits
    return out


def test_recall_against_exact_unfiltered_and_filtered(built, store, queries):
    exact = ExactIndex(store)
    assert recall(built.search(queries, 10), exact.search(queries, 10)) >= 0.95
    cats = np.random.default_rng(3).integers(10, size=len(queries))  # mostly not the query's own category
    got = filtered(built, queries, cats)
    assert recall(got, filtered(exact, queries, cats)) >= 0.95
    assert all(store.get(i).category == f"c{c}" for hits, c in zip(got, cats) for i, _ in hits)


def test_scores_are_exact_and_flat_equals_exact(built, store, queries):
    want = ExactIndex(store).search(queries[:20], 10)
    got = built.search(queries[:20], 10)
    for hits, exact in zip(got, want):
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        scores = dict(exact)
        for i, s in hits:
            if i in scores:
                assert s == pytest.approx(scores[i], rel=1e-5)
    if built.meta.kind == "flat":
        assert [[i for i, _ in h] for h in got] == [[i for i, _ in h] for h in want]


def test_unknown_category_and_k_zero(built, queries):
    assert built.search(queries[:2], 5, category="hats") == [[], []]
    assert built.search(queries[:2], 0) == [[], []]


@pytest.mark.parametrize("kind", ["ivf", "ivfpq", "hnsw"])
def test_deletions_and_exclusions_honoured(tmp_path, queries, kind):
    store = make_store(tmp_path / "s")
    index = FaissIndex.build(store, kind, **BUILDS[kind])
    top = ExactIndex(store).search(queries[:10], 3)
    deleted = [hits[0][0] for hits in top]
    excluded = [{hits[1][0], hits[2][0]} for hits in top]
    store.delete(deleted)
    got = index.search(queries[:10], 10, exclude=excluded)
    want = ExactIndex(store).search(queries[:10], 10, exclude=excluded)
    assert recall(got, want) >= 0.95
    for hits, ex in zip(got, excluded):
        assert len(hits) == 10 and not ({i for i, _ in hits} & (ex | set(deleted)))
    got = index.search(queries[:10], 10, category="c3", exclude=excluded)
    assert recall(got, ExactIndex(store).search(queries[:10], 10, category="c3", exclude=excluded)) >= 0.95


def test_items_appended_after_build_are_searched_exactly(tmp_path, queries):
    store = make_store(tmp_path / "s")
    index = FaissIndex.build(store, "ivf", nlist=32)
    store.append([Item(f"new{q}", None, "c1") for q in range(5)], queries[:5])
    store.append([Item("hat", None, "hats")], queries[5:6])
    got = index.search(queries[:6], 10)
    assert [hits[0][0] for hits in got] == [f"new{q}" for q in range(5)] + ["hat"]
    assert got[0][0][1] == pytest.approx(1.0, abs=1e-5)
    assert index.search(queries[5:6], 3, category="hats") == [[("hat", pytest.approx(1.0, abs=1e-5))]]
    assert recall(index.search(queries, 10), ExactIndex(store).search(queries, 10)) >= 0.95


@pytest.mark.parametrize("kind", ["ivf", "ivfpq", "hnsw", "flat"])
def test_save_load_round_trip(tmp_path, queries, kind):
    store = make_store(tmp_path / "s")
    index = FaissIndex.build(store, kind, **BUILDS[kind])
    index.save()
    loaded = FaissIndex.load(CatalogStore.open(store.root))
    assert loaded is not None and loaded.meta == index.meta
    assert loaded.meta.segments == tuple(s.name for s in store.segments)
    for category in (None, "c2"):
        assert loaded.search(queries[:10], 10, category=category) == index.search(queries[:10], 10, category=category)


def test_load_is_none_without_index_or_after_compaction(tmp_path, queries):
    store = make_store(tmp_path / "s")
    assert FaissIndex.load(store) is None
    index = FaissIndex.build(store, "flat")
    index.save()
    store.delete(["i0"])
    store.compact()
    assert FaissIndex.load(store) is None
    assert index.search(queries[:3], 5) == ExactIndex(store).search(queries[:3], 5)


def test_float16_store(tmp_path, queries):
    store = make_store(tmp_path / "s", dtype="float16")
    index = FaissIndex.build(store, "flat")
    got, want = index.search(queries[:10], 10), ExactIndex(store).search(queries[:10], 10)
    assert [[i for i, _ in h] for h in got] == [[i for i, _ in h] for h in want]
    ivf = FaissIndex.build(store, "ivf", nlist=32)
    assert recall(ivf.search(queries, 10), ExactIndex(store).search(queries, 10)) >= 0.95


def _crash(*args, **kwargs):
    raise OSError("disk full")


def _half_written_index(index, path):
    with open(path, "wb") as fh:
        fh.write(b"IwFl" + b"\0" * 10)
    raise OSError("disk full")


@pytest.mark.parametrize("where", ["index", "manifest"])
def test_crash_during_save_keeps_the_previous_index(tmp_path, queries, monkeypatch, where):
    store = make_store(tmp_path / "s")
    FaissIndex.build(store, "flat").save()
    before = FaissIndex.load(store).search(queries[:5], 5)
    store.append([Item("late", None, "c0")], queries[:1])
    again = FaissIndex.build(store, "ivf", nlist=32)
    with monkeypatch.context() as m:
        if where == "index":
            m.setattr(faiss, "write_index", _half_written_index)
        else:
            m.setattr(faiss_index, "write_json", _crash)
        with pytest.raises(OSError):
            again.save()
    loaded = FaissIndex.load(store)
    assert loaded is not None and loaded.meta.kind == "flat"
    assert len(loaded.meta.segments) == 2
    assert loaded.search(queries[1:5], 5) == before[1:]


def test_crash_during_first_save_leaves_no_index(tmp_path, monkeypatch):
    store = make_store(tmp_path / "s", n=500)
    index = FaissIndex.build(store, "flat")
    monkeypatch.setattr(faiss, "write_index", _half_written_index)
    with pytest.raises(OSError):
        index.save()
    assert FaissIndex.load(store) is None
    monkeypatch.undo()
    index.save()
    assert FaissIndex.load(store) is not None
    assert len([p for p in index_root(store).iterdir() if p.is_dir()]) == 1


def test_auto_kind_and_list_count():
    assert [choose_kind(n) for n in (5_000, 20_000, 1_000_000)] == ["flat", "hnsw", "ivf"]
    assert default_nlist(1_000_000) == 2048 and default_nlist(200_000) == 1024
    assert default_nlist(1000) * 39 <= 1000
