"""The catalogue store: append, delete, compact, reopen; atomic commits; one backbone per store."""

from __future__ import annotations

import numpy as np
import pytest

from outfitter.catalog import CatalogStore
from outfitter.catalog import store as store_module
from outfitter.errors import InputError, StoreError
from outfitter.types import Item


def unit(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def items(prefix: str, n: int, category: str | None = "tops") -> list[Item]:
    return [Item(f"{prefix}{i}", f"/photos/{prefix}{i}.jpg", category, {"price": str(i)}) for i in range(n)]


@pytest.fixture
def store(tmp_path) -> CatalogStore:
    return CatalogStore.create(tmp_path / "store", backbone="toy", dim=8)


def test_append_then_reopen_gives_back_items_and_vectors(store, tmp_path):
    vecs = unit(5)
    store.append(items("a", 5), vecs)
    again = CatalogStore.open(tmp_path / "store")
    assert len(again) == 5 and again.ids() == [f"a{i}" for i in range(5)]
    assert again.get("a3") == Item("a3", "/photos/a3.jpg", "tops")
    assert again.get("a3").attributes == {"price": "3"}
    np.testing.assert_array_equal(again.vector("a2"), vecs[2])
    assert again.backbone == "toy" and again.dim == 8


def test_delete_hides_items_and_compact_drops_them(store):
    store.append(items("a", 4), unit(4))
    store.append(items("b", 3, category="shoes"), unit(3, seed=1))
    assert store.delete(["a1", "b0", "missing"]) == 2
    assert "a1" not in store and len(store) == 5
    store.compact()
    assert len(store.segments) == 1 and len(store) == 5
    assert sorted(store.ids()) == ["a0", "a2", "a3", "b1", "b2"]
    assert store.get("b2").category == "shoes"
    assert not any(p.name.startswith(("seg-",)) and p.name.split(".")[0] not in
                   {s.name for s in store.segments} for p in store.root.iterdir())


def test_row_is_the_position_in_all_ids_across_segments(store):
    store.append(items("a", 3), unit(3))
    store.append(items("b", 2), unit(2, seed=1))
    assert [store.row(i) for i in ("a0", "a2", "b0", "b1")] == [0, 2, 3, 4]
    assert store.all_ids()[store.row("b1")] == "b1"
    with pytest.raises(InputError, match="unknown item id 'zz'"):
        store.row("zz")


def test_refuses_duplicate_ids_and_bad_vectors(store):
    store.append(items("a", 2), unit(2))
    with pytest.raises(InputError, match="already in the store"):
        store.append(items("a", 1), unit(1))
    with pytest.raises(InputError, match=r"shape \(1, 8\)"):
        store.append(items("c", 1), unit(1, dim=4))
    with pytest.raises(InputError, match="NaN"):
        store.append(items("d", 1), np.full((1, 8), np.nan, np.float32))
    assert len(store) == 2


def test_refuses_to_mix_backbones(store, tmp_path):
    with pytest.raises(StoreError, match="holds toy vectors"):
        CatalogStore.open_or_create(tmp_path / "store", backbone="resnet50", dim=2048)


def test_a_crash_while_writing_a_segment_leaves_the_old_store(store, tmp_path, monkeypatch):
    store.append(items("a", 3), unit(3))

    def crash(path, array):
        raise OSError("disk full")

    monkeypatch.setattr(store_module, "write_npy", crash)
    with pytest.raises(OSError):
        store.append(items("b", 3), unit(3))
    monkeypatch.undo()
    reopened = CatalogStore.open(tmp_path / "store")
    assert reopened.ids() == ["a0", "a1", "a2"]
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.endswith(".tmp")]


def test_a_crash_before_the_manifest_commit_leaves_the_old_store(store, tmp_path, monkeypatch):
    store.append(items("a", 2), unit(2))
    monkeypatch.setattr(store_module, "write_json", lambda path, data: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError):
        store.delete(["a0"])
    monkeypatch.undo()
    assert CatalogStore.open(tmp_path / "store").ids() == ["a0", "a1"]


def test_two_handles_never_drop_each_others_commits(store, tmp_path):
    other = CatalogStore.open(tmp_path / "store")
    store.append(items("a", 2), unit(2))
    other.append(items("b", 2), unit(2, seed=3))
    assert sorted(CatalogStore.open(tmp_path / "store").ids()) == ["a0", "a1", "b0", "b1"]


def test_float16_storage_halves_the_bytes(tmp_path):
    half = CatalogStore.create(tmp_path / "half", backbone="toy", dim=8, dtype="float16")
    vecs = unit(4)
    half.append(items("a", 4), vecs)
    assert half.vectors().dtype == np.float16
    np.testing.assert_allclose(half.vector("a1"), vecs[1], atol=1e-3)


def test_damaged_or_missing_manifest_is_reported(tmp_path):
    with pytest.raises(StoreError, match="no catalogue store"):
        CatalogStore.open(tmp_path)
    (tmp_path / "store.json").write_text("{not json")
    with pytest.raises(StoreError, match="store.json: unreadable"):
        CatalogStore.open(tmp_path)


def test_blocks_cover_every_row_once(store):
    store.append(items("a", 5), unit(5))
    store.append(items("b", 4), unit(4, seed=2))
    blocks = list(store.blocks(rows=3))
    assert [b.start for b in blocks] == [0, 3, 5, 8]
    assert np.concatenate([b.ids for b in blocks]).tolist() == store.all_ids().tolist()


def test_files_get_the_usual_permissions_not_private_temp_ones(store):
    store.append(items("a", 1), unit(1))
    modes = {p.name: p.stat().st_mode & 0o777 for p in store.root.iterdir() if p.suffix in (".json", ".npy")}
    assert modes and all(mode & 0o044 == 0o044 for mode in modes.values()), modes
