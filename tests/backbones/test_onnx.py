"""The onnxruntime path: same vectors as torch for every backbone, exported once, cache repaired, torch as fallback."""

from __future__ import annotations

import logging
import os
import sys

import numpy as np
import pytest
import torch
from torch import nn

from outfitter.pipeline import indexing
from outfitter.backbones import (
    DEFAULT_BACKBONE,
    Backbone,
    BackboneSpec,
    Preprocess,
    Trunk,
    create_backbone,
    list_backbones,
)
from outfitter.backbones import onnx
from outfitter.backbones.onnx import OnnxEmbedder, make_embedder
from outfitter.catalog import CatalogStore
from outfitter.datasets import read_folder
from outfitter.errors import InputError, WeightsNotFoundError
from outfitter.images import load_image
from outfitter.pipeline import embed_into_store


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One export cache for the module, so each registered backbone is exported once."""
    return tmp_path_factory.mktemp("onnx-cache")


def _slow_unless_default(name: str):
    """The default backbone runs every time; exporting the others takes several seconds each, so they are `slow`."""
    return pytest.param(name, marks=() if name == DEFAULT_BACKBONE else pytest.mark.slow)


@pytest.fixture(scope="module")
def default_backbone():
    """The default backbone with its shipped weights, built once for the module."""
    return create_backbone(DEFAULT_BACKBONE)


@pytest.fixture(scope="module", params=[_slow_unless_default(n) for n in list_backbones()])
def backbone(request):
    """Every registered backbone: with its weights where this machine has them, else random ones."""
    if request.param == DEFAULT_BACKBONE:
        return request.getfixturevalue("default_backbone")
    try:
        return create_backbone(request.param)
    except WeightsNotFoundError:
        return create_backbone(request.param, pretrained=False)


def tiny_backbone(seed: int = 0) -> Backbone:
    """A 4-d backbone on 32x32 images: exports in about a second, for the cache tests."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
    spec = BackboneSpec("tiny", 4, Preprocess(32, "squash", (0.5,) * 3, (0.25,) * 3), lambda w, p: model,
                        lambda m: Trunk(m[:2], m[2:]), "test backbone")
    return Backbone(spec, model)


@pytest.fixture
def exports(monkeypatch):
    """Counts the exports that actually run."""
    calls = []
    real = onnx.export

    def counted(backbone, path):
        calls.append(path)
        real(backbone, path)

    monkeypatch.setattr(onnx, "export", counted)
    return calls


def random_batch(backbone: Backbone, n: int) -> torch.Tensor:
    """A seeded uint8 pixel batch of n images at the backbone's input size."""
    size = backbone.preprocess.image_size
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(n))


def test_onnx_matches_torch_for_every_backbone(backbone, cache_dir):
    embed = OnnxEmbedder(backbone, cache_dir=cache_dir, threads=1)
    assert embed.runtime == "onnx"
    for n in (1, 3):  # the batch axis is dynamic: other sizes than the export's
        batch = random_batch(backbone, n)
        vectors = embed(batch)
        assert vectors.shape == (n, backbone.dim) and vectors.dtype == np.float32
        np.testing.assert_allclose(vectors, backbone.embed_pixels(batch), rtol=0, atol=onnx.TOLERANCE)


def test_the_cached_export_is_reused(tmp_path, exports):
    tiny = tiny_backbone()
    first = OnnxEmbedder(tiny, cache_dir=tmp_path)
    stamp = first.path.stat().st_mtime_ns
    second = OnnxEmbedder(tiny, cache_dir=tmp_path)
    assert len(exports) == 1 and second.path == first.path and second.path.stat().st_mtime_ns == stamp
    assert second.runtime == "onnx"
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no temporary file left behind


def test_other_weights_get_their_own_file(tmp_path):
    assert onnx.cached_model_path(tiny_backbone(0), tmp_path) != onnx.cached_model_path(tiny_backbone(1), tmp_path)
    assert onnx.cached_model_path(tiny_backbone(0), tmp_path) == onnx.cached_model_path(tiny_backbone(0), tmp_path)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_cached_model_is_exported_again(tmp_path, exports, damage, caplog):
    tiny = tiny_backbone()
    path = OnnxEmbedder(tiny, cache_dir=tmp_path).path
    data = path.read_bytes()
    path.write_bytes(b"not an onnx model" if damage == "garbage" else data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger=onnx.__name__):
        repaired = OnnxEmbedder(tiny, cache_dir=tmp_path)
    assert len(exports) == 2 and repaired.runtime == "onnx" and "exporting it again" in caplog.text
    batch = random_batch(tiny, 2)
    np.testing.assert_allclose(repaired(batch), tiny.embed_pixels(batch), atol=onnx.TOLERANCE)


def test_a_cached_model_of_another_shape_is_exported_again(tmp_path, exports):
    tiny = tiny_backbone()
    path = onnx.cached_model_path(tiny, tmp_path)
    other = Backbone(tiny.spec, nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(2), nn.Flatten(1)).eval())
    onnx.export(other, path)  # 16-d under the 4-d model's name
    assert OnnxEmbedder(tiny, cache_dir=tmp_path).runtime == "onnx" and len(exports) == 2


def test_a_crash_while_exporting_leaves_no_file(tmp_path, monkeypatch):
    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        OnnxEmbedder(tiny_backbone(), cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_falls_back_to_torch_when_onnx_disagrees(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(onnx, "TOLERANCE", -1.0)
    tiny = tiny_backbone()
    with caplog.at_level(logging.WARNING, logger=onnx.__name__):
        embed = OnnxEmbedder(tiny, cache_dir=tmp_path)
    assert embed.runtime == "torch" and "embedding with torch instead" in caplog.text
    batch = random_batch(tiny, 2)
    np.testing.assert_array_equal(embed(batch), tiny.embed_pixels(batch))


def test_make_embedder_picks_the_runtime(tmp_path):
    tiny = tiny_backbone()
    assert make_embedder(tiny, "torch") == tiny.embed_pixels
    assert isinstance(make_embedder(tiny, "auto", cache_dir=tmp_path), OnnxEmbedder)
    with pytest.raises(InputError, match="runtime"):
        make_embedder(tiny, "tensorrt")


def test_make_embedder_uses_torch_without_onnxruntime(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    tiny = tiny_backbone()
    assert make_embedder(tiny, "auto") == tiny.embed_pixels
    with pytest.raises(InputError, match="pip install onnxruntime"):
        make_embedder(tiny, "onnx")


def test_make_embedder_uses_torch_when_export_fails(tmp_path, monkeypatch, caplog):
    def unsupported(backbone, path):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx, "export", unsupported)
    tiny = tiny_backbone()
    with caplog.at_level(logging.WARNING, logger=onnx.__name__):
        assert make_embedder(tiny, "auto", cache_dir=tmp_path) == tiny.embed_pixels
    assert "unsupported operator" in caplog.text
    with pytest.raises(RuntimeError):
        make_embedder(tiny, "onnx", cache_dir=tmp_path)


def test_pipeline_with_onnx_stores_the_torch_vectors(photo_folder, tmp_path, default_backbone, cache_dir):
    items = read_folder(photo_folder)[::3]
    store = CatalogStore.create(tmp_path / "store", backbone=default_backbone.name, dim=default_backbone.dim)
    embed = make_embedder(default_backbone, "onnx", cache_dir=cache_dir)
    embed_into_store(items, store, default_backbone, batch_size=3, workers=1, progress=False, embed=embed)
    expected = default_backbone.embed_images([load_image(it.path) for it in items])
    stored = np.stack([store.vector(it.item_id) for it in items])
    np.testing.assert_allclose(stored, expected, rtol=0, atol=onnx.TOLERANCE)


def test_index_items_embeds_in_onnxruntime_by_default(photo_folder, tmp_path, cache_dir, monkeypatch):
    made = []

    def spy(*args, **kwargs):
        made.append(make_embedder(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(indexing, "make_embedder", spy)
    report = indexing.index_items(read_folder(photo_folder), tmp_path / "store", workers=0, progress=False,
                                  cache_dir=cache_dir)
    assert report.embedded == 12
    assert isinstance(made[0], OnnxEmbedder) and made[0].runtime == "onnx"
