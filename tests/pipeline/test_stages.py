"""The embedding job's stages: threaded batch reading keeps order and reports bad photos; the mapper normalises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter.backbones.registry import Preprocess
from outfitter.pipeline.stages import EmbedMapper, ImageReader, read_batches
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


def test_mapper_normalises_pixels_then_embeds():
    pixels = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    seen = []
    mapper = EmbedMapper(lambda batch: seen.append(batch) or np.zeros((len(batch), 4), np.float32), PRE.from_pixels)
    assert mapper(pixels).shape == (2, 4)
    assert torch.equal(seen[0], PRE.normalize(pixels.float() / 255.0))
