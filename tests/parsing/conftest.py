"""A tiny street-photos folder drawn on the fly: a person in a red top, blue trousers and black shoes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

LABELS = "id,name,semantic_category\n0,background,\n19,hair,\n25,jeans,bottoms\n39,shoes,shoes\n41,skin,\n51,t-shirt,tops\n"
NUMBERS = (*range(1, 7), 641, 642, 721, 722)  # 6 train photos, 2 valid, 2 test


def draw_person(seed: int, size: tuple[int, int] = (100, 165)) -> tuple[Image.Image, np.ndarray]:
    """A photo of a drawn person on a noisy grey street, and its label map (CCP label ids)."""
    rng = np.random.default_rng(seed)
    w, h = size
    photo = Image.fromarray(rng.integers(90, 150, (h, w, 3), dtype=np.uint8))
    labels = Image.new("L", size, 0)
    cx, top = w // 2 + int(rng.integers(-12, 13)), int(rng.integers(6, 16))
    parts = [  # (label, colour, box as fractions of the height around the person's centre line)
        (41, (225, 180, 150), (-0.07, 0.00, 0.07, 0.12)),  # head
        (51, (200, 30, 40), (-0.16, 0.12, 0.16, 0.45)),  # t-shirt
        (25, (40, 60, 170), (-0.13, 0.45, 0.13, 0.85)),  # jeans
        (39, (20, 20, 20), (-0.14, 0.85, 0.14, 0.93)),  # shoes
    ]
    for picture in (ImageDraw.Draw(photo), ImageDraw.Draw(labels)):
        for label, colour, (x0, y0, x1, y1) in parts:
            box = (cx + x0 * h, top + y0 * h, cx + x1 * h, top + y1 * h)
            picture.rectangle(box, fill=label if picture.im.mode == "L" else colour)
    return photo, np.asarray(labels)


@pytest.fixture(scope="session")
def street_folder(tmp_path_factory) -> Path:
    """photos/, masks/ and labels.csv in street-photos' layout."""
    root = tmp_path_factory.mktemp("street-photos")
    (root / "photos").mkdir()
    (root / "masks").mkdir()
    (root / "labels.csv").write_text(LABELS)
    for number in NUMBERS:
        photo, labels = draw_person(number)
        photo.save(root / "photos" / f"{number:04d}.jpg", quality=95)
        Image.fromarray(labels).save(root / "masks" / f"{number:04d}.png")
    return root
