"""`index_items`: stores each item's features beside its vector in the same pass, and back-fills old stores."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from outfitter.backbones import get_spec
from outfitter.catalog import CatalogStore
from outfitter.config import DECODE_SIDE
from outfitter.datasets import read_folder
from outfitter.images import garment_histograms
from outfitter.pipeline.indexing import index_items
from outfitter.pipeline import GARMENT_FEATURE, ensure_features

OPTIONS = {"backbone": "efficientnet_lite0", "runtime": "torch", "workers": 0, "progress": False}


@pytest.fixture
def indexed(photo_folder, tmp_path) -> CatalogStore:
    index_items(read_folder(photo_folder), tmp_path / "store", **OPTIONS)
    return CatalogStore.open(tmp_path / "store")


def forget_features(store: CatalogStore) -> None:
    """Make the store look as if written before features existed: no feature files, none in the manifest."""
    manifest_path = store.root / "store.json"
    manifest = json.loads(manifest_path.read_text())
    for seg in store.segments:
        seg.path(f"{GARMENT_FEATURE}.npy").unlink()
        manifest["checksums"][seg.name].pop(seg.path(f"{GARMENT_FEATURE}.npy").name)
    manifest_path.write_text(json.dumps(manifest))


def test_features_are_the_garment_histograms_of_the_pixels_the_backbone_got(indexed):
    read = get_spec("efficientnet_lite0").preprocess.reader(DECODE_SIDE)
    pixels = torch.stack([read(indexed.get(i).path) for i in indexed.all_ids().tolist()])
    np.testing.assert_allclose(indexed.features(GARMENT_FEATURE), garment_histograms(pixels).numpy(), atol=1e-6)


def test_a_store_without_features_is_back_filled_with_what_indexing_wrote(indexed):
    written = np.array(indexed.features(GARMENT_FEATURE))
    forget_features(indexed)
    assert ensure_features(indexed, workers=2, progress=False).filled == len(written)
    np.testing.assert_allclose(indexed.features(GARMENT_FEATURE), written, atol=1e-6)


def test_indexing_more_items_back_fills_the_old_ones(photo_folder, indexed):
    written = np.array(indexed.features(GARMENT_FEATURE))
    forget_features(indexed)
    shutil.copy(photo_folder / "tops" / "tops0.jpg", photo_folder / "new.jpg")
    index_items(read_folder(photo_folder), indexed.root, **OPTIONS)
    store = CatalogStore.open(indexed.root)
    assert len(store.segments) == 2 and store.segments_missing(GARMENT_FEATURE) == []
    np.testing.assert_allclose(store.features(GARMENT_FEATURE)[:len(written)], written, atol=1e-6)
    np.testing.assert_allclose(store.features(GARMENT_FEATURE)[store.row("new")], written[store.row("tops/tops0")],
                               atol=1e-6)
