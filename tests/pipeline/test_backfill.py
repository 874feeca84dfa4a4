"""Back-filling stored features: every segment that lacks them gets them, one commit per segment, resumably."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outfitter.backbones import get_spec
from outfitter.catalog import CatalogStore
from outfitter.config import DECODE_SIDE
from outfitter.datasets import read_folder
from outfitter.images import garment_histograms
from outfitter.pipeline import GARMENT_FEATURE, ensure_features
from outfitter.pipeline import stages as stages_module

BACKBONE = "efficientnet_lite0"


@pytest.fixture
def old_store(photo_folder, tmp_path) -> CatalogStore:
    """A store made before features existed: three segments of four items, vectors only."""
    store = CatalogStore.create(tmp_path / "store", backbone=BACKBONE, dim=4)
    items = read_folder(photo_folder)
    for lo in range(0, len(items), 4):
        store.append(items[lo:lo + 4], np.eye(4, dtype=np.float32))
    return store


def expected_features(store: CatalogStore) -> np.ndarray:
    """What the index pass computes: garment histograms of the photos decoded with the backbone's preprocessing."""
    read = get_spec(BACKBONE).preprocess.reader(DECODE_SIDE)
    pixels = [read(store.get(i).path) for i in store.all_ids().tolist()]
    return np.stack([garment_histograms(p[None])[0].numpy() for p in pixels])


def test_fills_every_segment_with_what_indexing_computes(old_store):
    report = ensure_features(old_store, workers=2, progress=False)
    assert (report.filled, report.failed) == (12, [])
    reopened = CatalogStore.open(old_store.root)
    np.testing.assert_allclose(reopened.features(GARMENT_FEATURE), expected_features(reopened), atol=1e-6)
    assert ensure_features(reopened, progress=False).filled == 0


def test_an_interrupted_back_fill_keeps_finished_segments_and_a_rerun_finishes(old_store, monkeypatch):
    real = stages_module.compute_features
    calls = []

    def dies_on_the_second_segment(pixels, names):
        calls.append(len(pixels))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(pixels, names)

    monkeypatch.setattr(stages_module, "compute_features", dies_on_the_second_segment)
    with pytest.raises(KeyboardInterrupt):
        ensure_features(old_store, batch_size=4, workers=0, progress=False)
    monkeypatch.undo()
    reopened = CatalogStore.open(old_store.root)
    assert reopened.segments_missing(GARMENT_FEATURE) == reopened.segments[1:]
    assert ensure_features(reopened, batch_size=4, workers=0, progress=False).filled == 8
    np.testing.assert_allclose(reopened.features(GARMENT_FEATURE), expected_features(reopened), atol=1e-6)


def test_a_lost_photo_gets_a_zero_row_and_is_reported_a_deleted_row_is_not_read(old_store):
    lost, gone = old_store.get(old_store.ids()[1]), old_store.get(old_store.ids()[6])
    old_store.delete([gone.item_id])
    for item in (lost, gone):
        Path(item.path).unlink()
    report = ensure_features(old_store, workers=0, progress=False)
    assert report.filled == 10 and [i for i, _ in report.failed] == [lost.item_id]
    table = old_store.features(GARMENT_FEATURE)
    assert not table[1].any() and not table[6].any() and (table.sum(axis=1) > 0).sum() == 10
