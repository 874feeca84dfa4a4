"""Tiny product-like photos drawn on the fly for tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS = {"red": (200, 30, 30), "green": (30, 160, 60), "blue": (40, 60, 200)}
SHAPES = ("tops", "bottoms", "shoes")


def draw_item(shape: str, colour: tuple[int, int, int], seed: int, size: int = 64) -> Image.Image:
    """A small product-like photo: a coloured shape on a light background, jittered by `seed`."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in 235 + rng.integers(-10, 10, 3)))
    draw = ImageDraw.Draw(img)
    j = int(rng.integers(-3, 4))
    box = {"tops": (12 + j, 8, 52 + j, 40), "bottoms": (22, 10 + j, 42, 60 + j), "shoes": (8, 40 + j, 56, 56 + j)}[shape]
    draw.rectangle(box, fill=tuple(int(c) for c in np.clip(np.array(colour) + rng.integers(-20, 20, 3), 0, 255)))
    return img


def draw_shop(root: Path, colours: Sequence[tuple[int, int, int]], seed: int = 0) -> Path:
    """A shop folder under `root`: one sub-folder per shape (its category) holding one photo per colour."""
    for c, shape in enumerate(SHAPES):
        (root / shape).mkdir(parents=True, exist_ok=True)
        for i, colour in enumerate(colours):
            draw_item(shape, colour, seed=seed + 10 * c + i).save(root / shape / f"{shape}{i}.jpg")
    return root
