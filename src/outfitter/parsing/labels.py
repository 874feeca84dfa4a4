"""What the garment parser tells apart: background, the person's own pixels, and the shop's semantic categories.

The categories are street-outfits' (and Polyvore's) semantic categories, so a found garment maps to an outfit
slot by name. Skin, hair, underwear, socks and tights are "person": not for sale, yet not background either,
which keeps a bare arm from being learned as background next to a sleeve.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

BACKGROUND, PERSON = "background", "person"
GARMENTS = ("tops", "bottoms", "all-body", "shoes", "outerwear", "bags", "hats", "sunglasses", "scarves",
            "accessories", "jewellery")
CLASSES = (BACKGROUND, PERSON, *GARMENTS)
MAIN_GARMENTS = ("tops", "bottoms", "all-body", "shoes", "outerwear", "bags")
"""The categories the parser's quality target is measured on (mIoU): the small ones cover a few hundred pixels."""
IGNORE = 255
"""Label of pixels no loss or score counts (the padding around a letterboxed photo)."""


def class_table(label_categories: Mapping[int, str | None]) -> np.ndarray:
    """A 256-entry lookup from a dataset's label ids to parser classes: 0 stays background, ids with a known
    category take it, every other id (skin, hair, underwear...) is person; unknown categories are refused."""
    table = np.full(256, CLASSES.index(PERSON), dtype=np.uint8)
    table[0] = CLASSES.index(BACKGROUND)
    for label, category in label_categories.items():
        if label == 0 or category is None:
            continue
        if category not in GARMENTS:
            raise ValueError(f"label {label} has category {category!r}, not one of {', '.join(GARMENTS)}")
        table[label] = CLASSES.index(category)
    return table
