"""Fit a photo into the parser's fixed input (letterboxing) and map what was found there back to the photo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from outfitter.parsing.labels import IGNORE
from outfitter.parsing.net import CANVAS

PAD_GREY = 127  # the Lite0 normalisation's mean: padding reads as zero to the network


@dataclass(frozen=True)
class Placement:
    """Where a photo of `size` (width, height) sits in the canvas: scaled to `inner` (w, h) at `offset` (x, y)."""

    size: tuple[int, int]
    inner: tuple[int, int]
    offset: tuple[int, int]

    @classmethod
    def fit(cls, size: tuple[int, int], canvas: tuple[int, int] = CANVAS) -> "Placement":
        """The largest aspect-keeping fit of `size` into the canvas (height, width), centred."""
        height, width = canvas
        scale = min(width / size[0], height / size[1])
        inner = (max(1, min(width, round(size[0] * scale))), max(1, min(height, round(size[1] * scale))))
        return cls(size, inner, ((width - inner[0]) // 2, (height - inner[1]) // 2))

    def crop(self, canvas_map: np.ndarray) -> np.ndarray:
        """The photo's part of a canvas-sized [..., H, W] array."""
        x, y = self.offset
        return canvas_map[..., y: y + self.inner[1], x: x + self.inner[0]]

    def to_photo(self, box: tuple[int, int, int, int], photo_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """A box [x0, y0, x1, y1) in inner-area pixels, in the pixels of a photo of `photo_size`."""
        sx, sy = photo_size[0] / self.inner[0], photo_size[1] / self.inner[1]
        x0, y0, x1, y1 = box
        return (int(x0 * sx), int(y0 * sy), min(photo_size[0], round(x1 * sx)), min(photo_size[1], round(y1 * sy)))


def letterbox(image: Image.Image, canvas: tuple[int, int] = CANVAS) -> tuple[np.ndarray, Placement]:
    """An RGB photo as uint8 [3, H, W] canvas pixels, grey around it, and where it was put."""
    place = Placement.fit(image.size, canvas)
    out = np.full((canvas[0], canvas[1], 3), PAD_GREY, dtype=np.uint8)
    x, y = place.offset
    out[y: y + place.inner[1], x: x + place.inner[0]] = np.asarray(image.convert("RGB").resize(place.inner,
                                                                                              Image.BILINEAR))
    return out.transpose(2, 0, 1), place


def letterbox_labels(labels: np.ndarray, canvas: tuple[int, int] = CANVAS) -> np.ndarray:
    """A label map fitted as its photo would be (nearest neighbour), IGNORE around it."""
    place = Placement.fit((labels.shape[1], labels.shape[0]), canvas)
    out = np.full(canvas, IGNORE, dtype=np.uint8)
    x, y = place.offset
    out[y: y + place.inner[1], x: x + place.inner[0]] = np.asarray(
        Image.fromarray(labels).resize(place.inner, Image.NEAREST))
    return out
