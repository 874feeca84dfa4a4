"""Rule-made outfits for the demo catalogue (made by a rule, not curated by people), in Polyvore format.

The rule:
- Shape: top (t-shirt, shirt or longsleeve) + bottom (pants, shorts or skirt) + shoes, or dress + shoes;
  outerwear may be added to long-sleeved or trousered looks, a hat to t-shirt, shorts or dress looks.
- Colour: each photo's tone is the mean colour of its central region; a tone is *neutral* when its
  saturation is low (black, white, grey, beige), else one of 6 hue sectors. Every two chromatic items of
  an outfit must be in the same or a neighbouring sector; neutral items go with anything.
Negatives (compatibility label 0) and FITB distractors are items that break the colour rule.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from outfitter.datasets.polyvore_export import SplitData
from outfitter.images import load_image
from outfitter.types import Item, Outfit

TOPS = ("t-shirt", "shirt", "longsleeve")
BOTTOMS = ("pants", "shorts", "skirt")
NEUTRAL = -1
SECTORS = 6


def tone(item: Item) -> int:
    """NEUTRAL, or the hue sector of the photo's central region's mean colour."""
    img = load_image(item.path)
    w, h = img.size
    r, g, b = np.asarray(img.crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4)), dtype=np.float32).reshape(-1, 3).mean(0) / 255
    hue, sat, val = colorsys.rgb_to_hsv(r, g, b)
    return NEUTRAL if sat < 0.28 or val < 0.2 else int(hue * SECTORS) % SECTORS


def harmonious(tones: Sequence[int]) -> bool:
    """Every two chromatic tones are in the same or a neighbouring hue sector."""
    chroma = [t for t in tones if t != NEUTRAL]
    return all(min((a - b) % SECTORS, (b - a) % SECTORS) <= 1 for a in chroma for b in chroma)


def _template(rng: np.random.Generator) -> list[tuple[str, ...]]:
    """The category slots of one outfit shape."""
    if rng.random() < 0.25:
        slots = [("dress",), ("shoes",)]
        return slots + ([("hat",)] if rng.random() < 0.4 else [])
    top, bottom = (str(rng.choice(TOPS)),), (str(rng.choice(BOTTOMS)),)
    slots = [top, bottom, ("shoes",)]
    if (top[0] == "longsleeve" or bottom[0] == "pants") and rng.random() < 0.5:
        slots.append(("outwear",))
    if (top[0] == "t-shirt" or bottom[0] == "shorts") and rng.random() < 0.4:
        slots.append(("hat",))
    return slots


def _fill(rng: np.random.Generator, slots, by_cat: dict[str, list[int]], tones: list[int]) -> list[int] | None:
    """Pick one item per slot keeping the colour rule, or None after a few tries."""
    for _ in range(20):
        chosen: list[int] = []
        for (cat,) in slots:
            options = [i for i in by_cat.get(cat, []) if harmonious([tones[j] for j in chosen] + [tones[i]])]
            if not options:
                break
            chosen.append(int(rng.choice(options)))
        else:
            return chosen
    return None


def make_outfits(items: Sequence[Item], *, count: int = 600, seed: int = 0) -> tuple[list[list[int]], list[int]]:
    """Up to `count` rule-made outfits (as item positions) and every item's tone."""
    rng = np.random.default_rng(seed)
    tones = [tone(it) for it in items]
    by_cat: dict[str, list[int]] = {}
    for n, it in enumerate(items):
        by_cat.setdefault(it.category or "", []).append(n)
    outfits = [o for o in (_fill(rng, _template(rng), by_cat, tones) for _ in range(count)) if o]
    return outfits, tones


def demo_splits(items: Sequence[Item], *, count: int = 600, seed: int = 0) -> dict[str, SplitData]:
    """Rule-made outfits split 70/15/15 into Polyvore train/valid/test with compatibility and FITB questions."""
    rng = np.random.default_rng(seed + 1)
    outfits, tones = make_outfits(items, count=count, seed=seed)
    cut1, cut2 = int(0.7 * len(outfits)), int(0.85 * len(outfits))
    parts = {"train": outfits[:cut1], "valid": outfits[cut1:cut2], "test": outfits[cut2:]}
    return {split: _split(rng, split, rows, items, tones) for split, rows in parts.items()}


def _split(rng, split: str, rows: list[list[int]], items: Sequence[Item], tones: list[int]) -> SplitData:
    ids = [it.item_id for it in items]
    outfits = [Outfit(f"{split}{n:04d}", tuple(ids[i] for i in o)) for n, o in enumerate(rows)]
    members = sorted({i for o in rows for i in o})
    data = SplitData(outfits)
    for outfit, row in zip(outfits, rows):
        data.compatibility.append((1, list(outfit.item_ids)))
        clash = _clashing_swap(rng, row, members, items, tones)
        if clash is not None:
            data.compatibility.append((0, [ids[i] for i in clash[0]]))
            data.fitb.append((outfit, clash[1], [ids[i] for i in clash[2]]))
    return data


def _clashing_swap(rng, row: list[int], members: list[int], items: Sequence[Item], tones: list[int]):
    """An outfit with one item swapped for a same-category item that breaks the colour rule, and 3 such items."""
    for blank in rng.permutation(len(row)):
        rest = [tones[i] for k, i in enumerate(row) if k != blank]
        cat = items[row[blank]].category
        bad = [i for i in members if items[i].category == cat and i not in row and not harmonious(rest + [tones[i]])]
        if len(bad) >= 3:
            wrong = [int(i) for i in rng.choice(bad, 3, replace=False)]
            negative = [wrong[0] if k == blank else i for k, i in enumerate(row)]
            return negative, int(blank), wrong
    return None
