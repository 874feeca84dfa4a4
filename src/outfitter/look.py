"""Shop the look: every garment found in a photo of a person, similar catalogue items for each, and what
completes the outfit for the slots the photo does not show.

A photo with no person in it (a product shot: no skin or hair, little of it read as worn garments) is one
item, and its similar items are exactly `Catalog.similar`'s for the photo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from outfitter.parsing.parser import ParsedPhoto
from outfitter.types import Hit

if TYPE_CHECKING:
    from outfitter.recommend import Catalog

PERSON_MIN_SHARE = 0.1
"""Below this share of skin, hair and worn-garment pixels a photo is taken as a product shot. On street-photos
valid+test (160 photos of people) the least was 0.17; on 713 clothing-small product shots the most was 0.05."""
SKIN_MIN_SHARE = 0.004
"""...and below this share of skin and hair alone: at least 0.011 on those people, 0 on every product shot."""


@dataclass(frozen=True)
class LookGarment:
    """One garment of the look: where it is, what kind, the crop searched with, and the catalogue's similar items."""

    category: str | None
    box: tuple[int, int, int, int]
    confidence: float
    crop: Image.Image = field(repr=False, compare=False)
    similar: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "box": list(self.box), "confidence": self.confidence,
                "similar": [h.to_dict() for h in self.similar]}

    def none_similar(self) -> str:
        """Why the garment has no similar items, in words ('' when it has some): the catalogue holds nothing of
        its kind (a shop that sells no bags, and a photo with a bag)."""
        return "" if self.similar else f"this catalogue has no {self.category or 'items like it'}"


@dataclass(frozen=True)
class Look:
    """What `Catalog.shop_the_look` found: the garments (largest first), the complementary items per missing slot,
    whether the photo was taken as a product shot, and the photo's size (boxes are in its pixels)."""

    garments: list[LookGarment]
    complementary: dict[str, list[Hit]]
    product_shot: bool
    size: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `outfitter look --json` and `POST /look`."""
        return {"garments": [g.to_dict() for g in self.garments],
                "complementary": {slot: [h.to_dict() for h in hits] for slot, hits in self.complementary.items()},
                "product_shot": self.product_shot, "size": list(self.size)}


def is_product_shot(parsed: ParsedPhoto) -> bool:
    """No person in the photo: hardly any skin or hair, and little read as worn garments, or nothing found."""
    skin = parsed.person_share - parsed.worn_share
    return not parsed.garments or skin < SKIN_MIN_SHARE or parsed.person_share < PERSON_MIN_SHARE


def slot_categories(category_slots: Mapping[str, str | None], slot: str) -> list[str]:
    """The catalogue categories whose outfit slot is `slot`."""
    return sorted(c for c, s in category_slots.items() if s == slot)


def merged_top(rows: Sequence[list[tuple[str, float]]], k: int) -> list[tuple[str, float]]:
    """The best k (id, score) pairs over several ranked lists (one per category of a slot)."""
    return sorted((pair for row in rows for pair in row), key=lambda p: -p[1])[:k]


def search_in_slot(catalog: "Catalog", vectors: np.ndarray, slots: Sequence[str], k: int) -> list[list[Hit]]:
    """Top-k similar items per vector among the catalogue categories of its slot; none where no category maps
    to the slot, and the whole catalogue when it has no categories at all."""
    category_slots = catalog.complements.rules.category_slots if catalog.store.category_names else {}
    out = []
    for vector, slot in zip(vectors, slots):
        categories = slot_categories(category_slots, slot) if category_slots else [None]
        rows = [catalog.index.search(vector[None], k, category=c)[0] for c in categories]
        out.append(catalog.similar_hits(vector, merged_top(rows, k)))
    return out
