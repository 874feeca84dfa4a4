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


def segment_files_outside(store) -> set[str]:
    """Names of segment files on disk that belong to no live segment."""
    live = {s.name for s in store.segments}
    return {p.name for p in store.root.iterdir() if p.name.startswith("seg-") and p.name.split(".")[0] not in live}


def test_replaced_segments_are_retired_then_removed_by_a_later_commit(store, monkeypatch):
    store.append(items("a", 4), unit(4))
    store.append(items("b", 3, category="shoes"), unit(3, seed=1))
    store.compact()
    assert len(segment_files_outside(store)) == 10  # two retired segments' five files each, kept for readers
    store.delete(["a0"])
    assert len(segment_files_outside(store)) == 10  # still within the grace period
    monkeypatch.setattr("outfitter.catalog.store.RETIRE_AFTER_S", 0.0)
    store.delete(["a1"])
    assert segment_files_outside(store) == set() and CatalogStore.open(store.root)._manifest["retired"] == []


def test_a_reader_keeps_its_snapshot_through_another_writers_compaction(store):
    store.append(items("a", 4), unit(4))
    store.append(items("b", 3, category="shoes"), unit(3, seed=1))
    reader = CatalogStore.open(store.root)
    assert reader.is_current()
    writer = CatalogStore.open(store.root)
    writer.delete(["b0"])
    writer.compact()
    assert not reader.is_current()
    assert reader.get("b0").category == "shoes" and reader.get("a3").item_id == "a3"  # its files are still there
    fresh = CatalogStore.open(store.root)
    assert fresh.is_current() and "b0" not in fresh and len(fresh.segments) == 1


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


def test_lookups_stay_right_across_many_appends_and_another_writers_commit(store, tmp_path):
    other = CatalogStore.open(tmp_path / "store")
    store.append(items("a", 3), unit(3))
    assert "a1" in store
    other.append(items("b", 2), unit(2, seed=3))
    store.append(items("c", 3), unit(3, seed=4))
    store.append(items("d", 1), unit(1, seed=5))
    assert [i for i in ("a1", "b0", "c2", "d0") if i in store] == ["a1", "b0", "c2", "d0"]
    np.testing.assert_array_equal(store.vector("c2"), unit(3, seed=4)[2])
    assert store.get("b1").attributes == {"price": "1"}
    assert store.ids() == CatalogStore.open(tmp_path / "store").ids() == ["a0", "a1", "a2", "b0", "b1", "c0", "c1",
                                                                          "c2", "d0"]
    assert [store.row(i) for i in ("a0", "b0", "c0", "d0")] == [0, 3, 5, 8]
    with pytest.raises(InputError, match="already in the store"):
        store.append(items("b", 1), unit(1))


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


# ---- per-item features beside the vectors

def feats(n: int, width: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, width), dtype=np.float32)


def test_features_written_with_a_segment_come_back_memory_mapped(store, tmp_path):
    hist = feats(4)
    store.append(items("a", 4), unit(4), features={"hist": hist})
    again = CatalogStore.open(tmp_path / "store")
    assert isinstance(again.features("hist"), np.memmap) and again.features("hist").dtype == np.float32
    np.testing.assert_array_equal(again.features("hist"), hist)
    assert again.segments_missing("hist") == [] and again.segments[0].feature_names() == ["hist"]


@pytest.mark.parametrize("bad, match", [
    ({"hist": feats(2)}, r"feature 'hist': expected shape \(3, width\)"),
    ({"hist": np.full((3, 6), np.nan, np.float32)}, "feature 'hist' contains NaN"),
    ({"vectors": feats(3)}, "bad feature name 'vectors'"),
    ({"../x": feats(3)}, r"bad feature name '\.\./x'"),
])
def test_a_bad_feature_is_refused_and_nothing_is_written(store, bad, match):
    store.append(items("a", 2), unit(2), features={"hist": feats(2)})
    before = ((store.root / "store.json").read_text(), sorted(p.name for p in store.root.iterdir()))
    with pytest.raises(InputError, match=match):
        store.append(items("b", 3), unit(3, seed=1), features=bad)
    assert ((store.root / "store.json").read_text(), sorted(p.name for p in store.root.iterdir())) == before


def test_features_across_segments_align_with_ids_deleted_rows_included(store):
    store.append(items("a", 3), unit(3), features={"hist": feats(3)})
    store.append(items("b", 2), unit(2, seed=1), features={"hist": feats(2, seed=1)})
    store.delete(["a1"])
    table = store.features("hist")
    assert table.shape == (5, 6) and len(store.all_ids()) == 5
    np.testing.assert_array_equal(table[store.row("b1")], feats(2, seed=1)[1])
    np.testing.assert_array_equal(table[1], feats(3)[1])  # a1, deleted, keeps its row until compaction


def test_a_segment_without_the_feature_is_named_and_can_be_given_it(store):
    store.append(items("a", 2), unit(2), features={"hist": feats(2)})
    store.append(items("b", 3), unit(3, seed=1))
    late = store.segments[1]
    assert store.segments_missing("hist") == [late]
    with pytest.raises(StoreError, match=f"feature 'hist' missing from segments {late.name}"):
        store.features("hist")
    with pytest.raises(InputError, match=r"expected shape \(3, width\)"):
        store.add_segment_features(late.name, "hist", feats(2))
    store.add_segment_features(late.name, "hist", feats(3, seed=1))
    np.testing.assert_array_equal(store.features("hist")[2:], feats(3, seed=1))
    with pytest.raises(StoreError, match="no live segment 'seg-gone'"):
        store.add_segment_features("seg-gone", "hist", feats(3))


def test_compaction_carries_shared_features_and_removes_every_old_file(store, monkeypatch):
    store.append(items("a", 3), unit(3), features={"hist": feats(3), "only_a": feats(3, width=2)})
    store.append(items("b", 2), unit(2, seed=1), features={"hist": feats(2, seed=1)})
    store.delete(["a0"])
    expected = {i: store.features("hist")[store.row(i)].copy() for i in store.ids()}
    monkeypatch.setattr("outfitter.catalog.store.RETIRE_AFTER_S", 0.0)  # retired files go with the commit
    store.compact()
    (seg,) = store.segments
    assert seg.feature_names() == ["hist"]
    assert {i: store.features("hist")[store.row(i)].tolist() for i in store.ids()} == \
        {i: v.tolist() for i, v in expected.items()}
    assert sorted(p.name for p in store.root.iterdir() if p.name.startswith("seg-")) == \
        sorted(p.name for p in seg.files())


def test_an_empty_store_has_an_empty_feature_table(store):
    assert store.features("hist").shape == (0, 0)


def test_ids_that_cannot_name_one_item_are_refused_and_nothing_is_stored(store):
    with pytest.raises(InputError, match="'..' path segment; nothing was stored"):
        store.append([Item("ok"), Item("a/../b")], unit(2))
    assert len(CatalogStore.open(store.root)) == 0


def test_categories_match_ignoring_case_when_only_one_name_fits(store):
    store.append(items("a", 2, category="Shoes") + items("b", 1, category="tops"), unit(3))
    assert store.category_name("shoes") == "Shoes" and store.category_code("TOPS") == store.category_code("tops")
    assert store.category_name("hats") is None


def test_a_file_where_the_store_should_be_is_named(tmp_path):
    taken = tmp_path / "store"
    taken.write_text("not a store")
    for make in (lambda: CatalogStore.open(taken), lambda: CatalogStore.create(taken, backbone="toy", dim=8)):
        with pytest.raises(StoreError, match="is a file, not a store folder"):
            make()
