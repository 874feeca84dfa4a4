"""The embedding job's stages: threaded batch reading keeps order, reports bad photos and yields to inference."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from outfitter.backbones.registry import Preprocess
from outfitter.catalog import CatalogStore
from outfitter.errors import InputError
from outfitter.images import garment_histograms
from outfitter.pipeline import features as features_module
from outfitter.pipeline.features import GARMENT_FEATURE, Feature
from outfitter.pipeline.stages import LOWEST_PRIORITY, FeatureCollate, ImageReader, StoreWriter, read_batches
from outfitter.types import Item
from tests.drawing import draw_item

PRE = Preprocess(16, "squash", (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


@pytest.fixture
def items(tmp_path) -> list[Item]:
    out = []
    for i in range(11):
        path = tmp_path / f"p{i}.png"
        if i == 4:
            path.write_bytes(b"not an image")
        else:
            draw_item("tops", (200, 40, 40), i).save(path)
        out.append(Item(f"p{i}", str(path)))
    return out


@pytest.mark.parametrize("threads", [0, 1, 3])
def test_batches_come_in_order_with_failures_set_aside(items, threads):
    reader = ImageReader(items, PRE.reader())
    batches = list(read_batches(reader, 4, threads, ahead=1))
    assert [indices for indices, _, _ in batches] == [[0, 1, 2, 3], [5, 6, 7], [8, 9, 10]]
    assert [len(failed) for _, _, failed in batches] == [0, 1, 0]
    index, reason = batches[1][2][0]
    assert index == 4 and "not an image" in reason
    assert batches[0][1].dtype == torch.uint8 and batches[0][1].shape == (4, 3, 16, 16)
    expected = torch.stack([PRE.pixels(draw_item("tops", (200, 40, 40), i)) for i in range(4)])
    assert torch.equal(batches[0][1], expected)


def test_stopping_early_does_not_hang(items):
    batches = read_batches(ImageReader(items, PRE.reader()), 2, 2)
    next(batches)
    batches.close()


def test_normalising_pixels_equals_normalising_the_float_image():
    pixels = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    assert torch.equal(PRE.from_pixels(pixels), PRE.normalize(pixels.float() / 255.0))


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are a Linux feature")
def test_decoding_threads_yield_to_inference_and_leave_the_caller_alone(items):
    seen = []

    def read(path: str) -> torch.Tensor:
        seen.append((os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), torch.get_num_threads()))
        return PRE.reader()(path)

    before = (os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), torch.get_num_threads())
    list(read_batches(ImageReader(items[:4], read), 2, 2))
    assert set(seen) == {(LOWEST_PRIORITY, 1)}
    assert (os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), torch.get_num_threads()) == before


def test_features_come_from_the_decoding_threads_with_the_batch(items, monkeypatch):
    threads = []

    def garment(pixels: torch.Tensor) -> torch.Tensor:
        threads.append(threading.current_thread().name)
        return garment_histograms(pixels)

    monkeypatch.setattr(features_module, "FEATURES", {GARMENT_FEATURE: Feature(144, garment)})
    batches = list(read_batches(ImageReader(items, PRE.reader()), 4, 2, collate_fn=FeatureCollate([GARMENT_FEATURE])))
    for batch in batches:
        expected = garment_histograms(batch.pixels).numpy()
        np.testing.assert_array_equal(batch.features[GARMENT_FEATURE], expected)
    assert [len(b.failed) for b in batches] == [0, 1, 0]
    assert threads and all(name.startswith("outfitter-decode") for name in threads)


def test_an_unknown_feature_is_refused_by_name():
    with pytest.raises(InputError, match="unknown feature 'colour'; known: garment_hsv"):
        FeatureCollate(["colour"])


def test_a_feature_wider_or_narrower_than_declared_is_an_error(monkeypatch):
    monkeypatch.setattr(features_module, "FEATURES", {GARMENT_FEATURE: Feature(10, garment_histograms)})
    with pytest.raises(ValueError, match=r"gave shape \(2, 144\), declared \(2, 10\)"):
        features_module.compute_features(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), [GARMENT_FEATURE])


def segment_sizes(root: Path, rows: int, **writer) -> list[int]:
    """Sizes of the segments a StoreWriter makes in a new store at `root` from `rows` items arriving 4 at a time."""
    store = CatalogStore.create(root, backbone="toy", dim=2)
    out = StoreWriter(store, **writer)
    for first in range(0, rows, 4):
        out.add([Item(f"i{n}") for n in range(first, first + 4)], np.ones((4, 2), np.float32))
    out.flush()
    return [len(seg) for seg in store.segments]


def test_a_writers_chunks_grow_with_what_it_has_written(tmp_path):
    sizes = segment_sizes(tmp_path / "grown", 2000, chunk=8)
    assert sum(sizes) == 2000 and sizes[:4] == [8, 8, 8, 8]
    assert all(size >= min(sum(sizes[:n]) // 16, 2000 - sum(sizes[:n])) for n, size in enumerate(sizes))
    assert len(sizes) < 2000 // 8 // 4 and max(sizes) > 100
    assert max(segment_sizes(tmp_path / "capped", 2000, chunk=8, largest=40)) < 44
