"""The embedding job: embeds every readable photo once, skips bad ones, resumes after an interruption."""

from __future__ import annotations

import numpy as np
import pytest

from outfitter.catalog import CatalogStore
from outfitter.config import DECODE_SIDE
from outfitter.datasets import read_folder
from outfitter.errors import StoreError
from outfitter.images import garment_histograms
from outfitter.pipeline import GARMENT_FEATURE, embed_into_store


@pytest.fixture
def store(tmp_path, lite0):
    return CatalogStore.create(tmp_path / "store", backbone=lite0.name, dim=lite0.dim)


def test_embeds_a_folder_with_the_backbones_vectors(photo_folder, store, lite0):
    items = read_folder(photo_folder)
    report = embed_into_store(items, store, lite0, batch_size=5, workers=0, progress=False)
    assert report.embedded == len(items) == len(store) and not report.failed
    from PIL import Image
    expected = lite0.embed_images([Image.open(items[3].path).convert("RGB")])[0]
    np.testing.assert_allclose(store.vector(items[3].item_id), expected, atol=1e-5)
    pixels = lite0.preprocess.reader(DECODE_SIDE)(items[3].path)
    np.testing.assert_allclose(store.features(GARMENT_FEATURE)[store.row(items[3].item_id)],
                               garment_histograms(pixels[None])[0].numpy(), atol=1e-6)


def test_bad_photos_are_reported_and_skipped(photo_folder, store, lite0):
    (photo_folder / "tops" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photo_folder / "tops" / "empty.png").write_bytes(b"")
    report = embed_into_store(read_folder(photo_folder), store, lite0, workers=1, progress=False)
    assert sorted(i for i, _ in report.failed) == ["tops/broken", "tops/empty"]
    assert any("empty" in reason for _, reason in report.failed)
    assert len(store) == 12


def test_resumes_after_an_interruption_without_losing_or_repeating(photo_folder, store, lite0):
    items = read_folder(photo_folder)
    calls = {"n": 0}

    def flaky(batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return lite0.embed_pixels(batch)

    with pytest.raises(KeyboardInterrupt):
        embed_into_store(items, store, lite0, batch_size=2, chunk=2, workers=0, progress=False, embed=flaky)
    assert len(CatalogStore.open(store.root)) == 4
    again = embed_into_store(items, CatalogStore.open(store.root), lite0, batch_size=2, workers=0, progress=False)
    assert (again.already_stored, again.embedded) == (4, 8)
    final = CatalogStore.open(store.root)
    assert sorted(final.all_ids().tolist()) == sorted(it.item_id for it in items)
    assert final.features(GARMENT_FEATURE).shape == (12, 144)


def test_refuses_a_store_of_another_backbone(photo_folder, tmp_path, lite0):
    other = CatalogStore.create(tmp_path / "other", backbone="resnet50", dim=2048)
    with pytest.raises(StoreError, match="refusing"):
        embed_into_store(read_folder(photo_folder), other, lite0, progress=False)
