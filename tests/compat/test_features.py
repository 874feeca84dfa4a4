"""Item inputs: computed once into the cache, histograms on the unnormalised image, bad photos skipped."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from outfitter.compat import PolaniaNet, build_model, item_inputs
from outfitter.compat import features as features_module
from outfitter.compat.features import backbone_vectors, photo_inputs
from outfitter.images import color_histogram, load_image
from outfitter.types import Item

IMAGE_SIZE = 32


@pytest.fixture(scope="module")
def items(synthetic) -> list[Item]:
    return synthetic.items("test")[:12]


def test_vectors_are_cached_and_unit_norm(items, lite0, tmp_path, monkeypatch):
    table = backbone_vectors(items, lite0, tmp_path, image_size=IMAGE_SIZE, progress=False)
    assert table.ids == [item.item_id for item in items]
    assert table.vectors.shape == (12, 1280)
    assert np.allclose(np.linalg.norm(table.vectors, axis=1), 1.0, atol=1e-5)
    monkeypatch.setattr(features_module, "_run", lambda *a, **k: pytest.fail("recomputed a cached table"))
    again = backbone_vectors(items, lite0, tmp_path, image_size=IMAGE_SIZE, progress=False)
    assert np.array_equal(again.vectors, table.vectors)
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 1


def test_stem_features_and_histograms(items, tmp_path):
    net = PolaniaNet("efficientnet_lite0", image_size=IMAGE_SIZE)
    table = item_inputs(net, items[:3], tmp_path, progress=False)
    stems, hists = table.arrays
    assert stems.dtype == np.float16 and stems.shape[:2] == (3, 192)
    pixels = net.preprocess.to_tensor(load_image(items[0].path))
    assert np.allclose(hists[0], color_histogram(pixels), atol=1e-6)
    with torch.no_grad():
        expected = net.stem_features(pixels[None])[0].numpy()
    assert np.allclose(stems[0].astype(np.float32), expected, rtol=2e-3, atol=1e-3)


def test_unreadable_images_are_reported_and_left_out(items, lite0, tmp_path, caplog):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    batch = [items[0], Item("bad", str(broken), "tops"), items[1]]
    with caplog.at_level(logging.WARNING):
        table = backbone_vectors(batch, lite0, tmp_path / "cache", image_size=IMAGE_SIZE, batch_size=2, progress=False)
    assert table.ids == [items[0].item_id, items[1].item_id]
    assert "bad" not in table and "broken.jpg" in caplog.text
    assert np.array_equal(table.take(table.rows_of(table.ids))[0].numpy(), table.vectors[[0, 2]])


@pytest.mark.parametrize("kind", ["mlp", "polania"])
def test_photo_inputs_match_the_cached_inputs(kind, items, lite0, tmp_path):
    model = build_model(kind, "efficientnet_lite0", image_size=IMAGE_SIZE)
    table = item_inputs(model, items[:2], tmp_path, backbone=lite0, progress=False)
    photos = photo_inputs(model, [load_image(item.path) for item in items[:2]], backbone=lite0)
    for cached, fresh in zip(table.take(table.rows_of(table.ids)), photos):
        assert torch.allclose(cached, fresh, atol=1e-6)


def test_worker_processes_give_the_same_table(items, lite0, tmp_path):
    one = backbone_vectors(items[:4], lite0, None, image_size=IMAGE_SIZE, progress=False)
    two = backbone_vectors(items[:4], lite0, None, image_size=IMAGE_SIZE, num_workers=2, batch_size=2, progress=False)
    assert two.ids == one.ids and np.allclose(two.vectors, one.vectors, atol=1e-6)


def test_a_new_input_kind_is_one_registration_and_an_unknown_one_is_named():
    from outfitter.compat.features import INPUT_KINDS, InputKind, item_inputs, photo_inputs, register_input_kind
    from outfitter.errors import InputError

    class Named:
        def __init__(self, inputs: str) -> None:
            self.inputs = inputs

        def input_spec(self) -> dict:
            return {"inputs": self.inputs}

    register_input_kind("ones", InputKind(items=lambda model, items, cache_dir, **_: ("table", len(items)),
                                          photos=lambda model, images, **_: ("photos", len(images))))
    try:
        assert item_inputs(Named("ones"), [None, None]) == ("table", 2)
        assert photo_inputs(Named("ones"), [None]) == ("photos", 1)
        with pytest.raises(InputError, match="unknown model input kind 'twos'.*garment.*ones.*stem.*vectors"):
            item_inputs(Named("twos"), [])
    finally:
        INPUT_KINDS.pop("ones")
