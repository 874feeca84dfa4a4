"""open_index picks exact search for small or unindexed stores and the saved FAISS index otherwise."""

from __future__ import annotations

from outfitter.search import ExactIndex, FaissIndex, build_index, open_index
from tests.search.test_faiss_index import make_store


def test_exact_below_threshold_even_with_an_index(tmp_path):
    store = make_store(tmp_path / "s", n=600)
    build_index(store, "flat")
    assert isinstance(open_index(store), ExactIndex)
    assert isinstance(open_index(store, threshold=500), FaissIndex)


def test_exact_when_no_index_or_stale(tmp_path):
    store = make_store(tmp_path / "s", n=600)
    assert isinstance(open_index(store, threshold=100), ExactIndex)
    build_index(store, "flat")
    store.compact()
    assert isinstance(open_index(store, threshold=100), ExactIndex)


def test_build_index_reports_what_it_saved(tmp_path):
    store = make_store(tmp_path / "s", n=2000)
    built = build_index(store, "ivf", nlist=16)
    assert (built.kind, built.rows, built.params) == ("ivf", 2000, {"nlist": 16, "nprobe": 8, "bits": 1})
    assert built.path == store.root / "index" and built.bytes > 0
    assert "ivf index over 2,000 items" in str(built)
    index = open_index(store, threshold=100)
    assert isinstance(index, FaissIndex) and index.meta.rows == 2000
