"""Small synthetic datasets in the exact Polyvore Outfits and Maryland Polyvore formats, for tests and demos.

The rule that decides compatibility, learnable from pixels alone:

- Every item has a *style*, one of four colour palettes (warm reds, cool blues, forest greens, mono greys),
  and a semantic category (tops, bottoms, shoes, bags, hats). Its photo is the category's silhouette
  (T-shirt, trousers, shoe, bag with handle, hat) filled with one of its palette's colours, slightly
  jittered in colour and position, on a near-white background with a little pixel noise.
- A real outfit (label 1) is 3-4 items of distinct categories that all share one style. Outfit styles
  take turns within a split, so every split holds several styles.
- A negative outfit (label 0) has the same categories as a real one, filled with random items of the
  split whose styles are not all the same.
- A fill-in-the-blank question hides one item of a real outfit; its three wrong answers share the hidden
  item's category (as in the real data) but come from other styles. Only when a split is too small to
  offer three such items are other-style items of other categories used.

Items belong to one outfit each, so the ``nondisjoint`` and ``disjoint`` versions differ only in their
folder name. Everything is drawn from one seeded generator: the same seed writes the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from outfitter.datasets.polyvore_outfits import SPLITS, VERSIONS, check_choice
from outfitter.errors import InputError

STYLES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "warm": ((200, 40, 40), (235, 120, 30)),
    "cool": ((40, 70, 200), (40, 170, 210)),
    "forest": ((40, 130, 50), (140, 170, 40)),
    "mono": ((35, 35, 35), (125, 125, 125)),
}
# semantic category -> (category_id, fine-grained name); made-up ids, not the real dataset's.
CATEGORIES: dict[str, tuple[str, str]] = {
    "tops": ("11", "T-Shirts"),
    "bottoms": ("27", "Jeans"),
    "shoes": ("41", "Sneakers"),
    "bags": ("35", "Tote Bags"),
    "hats": ("52", "Hats"),
}
# Silhouettes as polygons in unit coordinates (x, y), y pointing down.
_SHAPES: dict[str, list[list[tuple[float, float]]]] = {
    "tops": [[(0.3, 0.15), (0.7, 0.15), (0.95, 0.4), (0.8, 0.5), (0.7, 0.42), (0.7, 0.9), (0.3, 0.9),
              (0.3, 0.42), (0.2, 0.5), (0.05, 0.4)]],
    "bottoms": [[(0.28, 0.08), (0.72, 0.08), (0.78, 0.92), (0.56, 0.92), (0.5, 0.38), (0.44, 0.92),
                 (0.22, 0.92)]],
    "shoes": [[(0.08, 0.5), (0.38, 0.5), (0.46, 0.66), (0.92, 0.72), (0.92, 0.85), (0.08, 0.85)]],
    "bags": [[(0.18, 0.42), (0.82, 0.42), (0.86, 0.88), (0.14, 0.88)],
             [(0.32, 0.42), (0.36, 0.16), (0.64, 0.16), (0.68, 0.42), (0.6, 0.42), (0.57, 0.24), (0.43, 0.24),
              (0.4, 0.42)]],
    "hats": [[(0.25, 0.62), (0.3, 0.32), (0.5, 0.22), (0.7, 0.32), (0.75, 0.62)],
             [(0.06, 0.62), (0.94, 0.62), (0.94, 0.74), (0.06, 0.74)]],
}
_BACKGROUND = 245
_FIRST_ITEM_ID = 100_000_001
_FIRST_SET_ID = 200_000_001


@dataclass(frozen=True)
class _SynthItem:
    """One generated item: its id, its place in its outfit, and the category and style its photo shows."""

    item_id: str
    set_id: str
    index: int
    category: str
    style: str

    @property
    def token(self) -> str:
        """The 'setid_index' name the task files use."""
        return f"{self.set_id}_{self.index}"


@dataclass(frozen=True)
class _SynthOutfit:
    """One generated outfit: items of distinct categories sharing one style."""

    set_id: str
    style: str
    items: tuple[_SynthItem, ...]


@dataclass(frozen=True)
class _FITB:
    """A generated question: the shown items, the answers with the right one first, the blank's index."""

    question: list[_SynthItem]
    answers: list[_SynthItem]
    blank_position: int


def write_synthetic_polyvore(
    root: str | Path,
    *,
    n_outfits: tuple[int, int, int] = (60, 20, 20),
    items_per_outfit: tuple[int, int] = (3, 4),
    seed: int = 0,
    image_size: int = 32,
    version: str = "nondisjoint",
) -> Path:
    """Write a Polyvore Outfits dataset (train, valid, test outfit counts as given) under root; return root."""
    check_choice(version, VERSIONS, "version")
    root = Path(root)
    rng = np.random.default_rng(seed)
    splits = _make_splits(rng, n_outfits, items_per_outfit)
    items = [item for outfits in splits.values() for outfit in outfits for item in outfit.items]
    _write_images(rng, {root / "images" / f"{item.item_id}.jpg": item for item in items}, image_size)
    _write_json(root / "polyvore_item_metadata.json", {item.item_id: _metadata(item) for item in items})
    _write_json(root / "polyvore_outfit_titles.json", _titles(splits))
    rows = [f"{category_id},{fine},{category}\n" for category, (category_id, fine) in CATEGORIES.items()]
    (root / "categories.csv").write_text("".join(rows))
    for split, outfits in splits.items():
        _write_polyvore_split(rng, root / version, split, outfits)
    return root


def write_synthetic_maryland(
    root: str | Path,
    *,
    n_outfits: tuple[int, int, int] = (8, 4, 6),
    items_per_outfit: tuple[int, int] = (3, 4),
    seed: int = 0,
    image_size: int = 32,
) -> Path:
    """Write a Maryland Polyvore dataset under root (same rule, Han et al.'s file layout); return root."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    splits = _make_splits(rng, n_outfits, items_per_outfit)
    items = [item for outfits in splits.values() for outfit in outfits for item in outfit.items]
    _write_images(rng, {root / "images" / item.set_id / f"{item.index}.jpg": item for item in items}, image_size)
    for split, outfits in splits.items():
        _write_json(root / f"{split}_no_dup.json", [_maryland_outfit(outfit) for outfit in outfits])
    test, pools = splits["test"], _pools(splits["test"])
    questions = [_fitb_record(_fitb_question(rng, outfit, pools), "answer", shuffle_with=None) for outfit in test]
    _write_json(root / "fill_in_blank_test.json", questions)
    (root / "fashion_compatibility_prediction.txt").write_text(_compatibility_text(rng, test))
    return root


def _make_splits(
    rng: np.random.Generator, n_outfits: tuple[int, int, int], items_per_outfit: tuple[int, int]
) -> dict[str, list[_SynthOutfit]]:
    """Outfits per split, styles taking turns so each split (of 2 or more outfits) has several."""
    _check_sizes(n_outfits, items_per_outfit)
    ids = {"item": _FIRST_ITEM_ID, "set": _FIRST_SET_ID}
    styles = list(STYLES)
    splits = {}
    for split, count in zip(SPLITS, n_outfits):
        first = int(rng.integers(len(styles)))
        turns = [styles[(first + i) % len(styles)] for i in range(count)]
        splits[split] = [_make_outfit(rng, style, items_per_outfit, ids) for style in turns]
    return splits


def _check_sizes(n_outfits: tuple[int, int, int], items_per_outfit: tuple[int, int]) -> None:
    """Sizes that guarantee every split can offer negatives and FITB distractors of other styles."""
    if len(n_outfits) != len(SPLITS) or min(n_outfits) < 2:
        raise InputError("need (train, valid, test) outfit counts, each at least 2", field="n_outfits")
    low, high = items_per_outfit
    if not 3 <= low <= high <= len(CATEGORIES):
        raise InputError(f"need 3 <= min <= max <= {len(CATEGORIES)} items", field="items_per_outfit")


def _make_outfit(
    rng: np.random.Generator, style: str, items_per_outfit: tuple[int, int], ids: dict[str, int]
) -> _SynthOutfit:
    """One real outfit: a random number of distinct categories, all items in the given style."""
    size = int(rng.integers(items_per_outfit[0], items_per_outfit[1] + 1))
    categories = rng.choice(list(CATEGORIES), size=size, replace=False)
    set_id = str(ids["set"])
    ids["set"] += 1
    items = []
    for index, category in enumerate(categories, start=1):
        items.append(_SynthItem(str(ids["item"]), set_id, index, str(category), style))
        ids["item"] += 1
    return _SynthOutfit(set_id, style, tuple(items))


@dataclass(frozen=True)
class _Pools:
    """A split's items by category, and by (category, style) -> that category's items of the other styles."""

    by_category: dict[str, list[_SynthItem]]
    other_style: dict[tuple[str, str], list[_SynthItem]]


def _pools(split: list[_SynthOutfit]) -> _Pools:
    """Index a split's items once, so negatives and distractors are drawn in constant time."""
    by_category: dict[str, list[_SynthItem]] = {}
    for outfit in split:
        for item in outfit.items:
            by_category.setdefault(item.category, []).append(item)
    other_style = {
        (category, style): [item for item in items if item.style != style]
        for category, items in by_category.items()
        for style in STYLES
    }
    return _Pools(by_category, other_style)


def _negative(rng: np.random.Generator, outfit: _SynthOutfit, pools: _Pools) -> list[_SynthItem]:
    """Random split items in the outfit's categories, one swapped if needed so their styles differ."""
    picks = [_sample(rng, pools.by_category[item.category], 1)[0] for item in outfit.items]
    style = picks[0].style
    if all(pick.style == style for pick in picks):
        slots = [j for j, pick in enumerate(picks) if pools.other_style[pick.category, style]]
        slot = _sample(rng, slots, 1)[0]
        picks[slot] = _sample(rng, pools.other_style[picks[slot].category, style], 1)[0]
    return picks


def _fitb_question(rng: np.random.Generator, outfit: _SynthOutfit, pools: _Pools) -> _FITB:
    """Hide one item; distractors share its category but not the outfit's style (other categories if short)."""
    blank = _sample(rng, list(outfit.items), 1)[0]
    distractors = _sample(rng, pools.other_style[blank.category, outfit.style], 3)
    if len(distractors) < 3:
        other_categories = [
            item
            for category in pools.by_category
            if category != blank.category
            for item in pools.other_style[category, outfit.style]
        ]
        distractors += _sample(rng, other_categories, 3 - len(distractors))
    question = [item for item in outfit.items if item is not blank]
    return _FITB(question, [blank, *distractors], blank.index)


def _sample(rng: np.random.Generator, items: list[Any], count: int) -> list[Any]:
    """Up to count distinct items chosen uniformly."""
    if not items:
        return []
    return [items[int(i)] for i in rng.choice(len(items), size=min(count, len(items)), replace=False)]


def _compatibility_text(rng: np.random.Generator, split: list[_SynthOutfit]) -> str:
    """A compatibility file: each real outfit (label 1) followed by a negative made from it (label 0)."""
    pools = _pools(split)
    lines = []
    for outfit in split:
        lines.append(" ".join(["1", *(item.token for item in outfit.items)]))
        lines.append(" ".join(["0", *(item.token for item in _negative(rng, outfit, pools))]))
    return "\n".join(lines) + "\n"


def _fitb_record(question: _FITB, answer_key: str, shuffle_with: np.random.Generator | None) -> dict[str, Any]:
    """A FITB question as JSON; answers shuffled (Polyvore Outfits) or right answer first (Maryland)."""
    answers = [item.token for item in question.answers]
    if shuffle_with is not None:
        answers = [answers[i] for i in shuffle_with.permutation(len(answers))]
    return {
        "question": [item.token for item in question.question],
        answer_key: answers,
        "blank_position": question.blank_position,
    }


def _write_polyvore_split(rng: np.random.Generator, folder: Path, split: str, outfits: list[_SynthOutfit]) -> None:
    """{split}.json, compatibility_{split}.txt and fill_in_blank_{split}.json for one split."""
    records = [
        {"set_id": o.set_id, "items": [{"item_id": i.item_id, "index": i.index} for i in o.items]} for o in outfits
    ]
    _write_json(folder / f"{split}.json", records)
    (folder / f"compatibility_{split}.txt").write_text(_compatibility_text(rng, outfits))
    pools = _pools(outfits)
    questions = [_fitb_record(_fitb_question(rng, outfit, pools), "answers", shuffle_with=rng) for outfit in outfits]
    _write_json(folder / f"fill_in_blank_{split}.json", questions)


def _metadata(item: _SynthItem) -> dict[str, Any]:
    """The item's polyvore_item_metadata.json record, every real field present (`catgeories` sic)."""
    category_id, fine = CATEGORIES[item.category]
    return {
        "url_name": f"{item.style} {fine.lower()} {item.item_id}",
        "description": f"{item.style} style {fine.lower()}",
        "catgeories": ["Women's Fashion", item.category.title(), fine],
        "title": f"{item.style.title()} {fine}",
        "related": [fine, item.style],
        "category_id": category_id,
        "semantic_category": item.category,
    }


def _titles(splits: dict[str, list[_SynthOutfit]]) -> dict[str, dict[str, str]]:
    """polyvore_outfit_titles.json: set_id -> url_name and title."""
    titles = {}
    for outfits in splits.values():
        for outfit in outfits:
            name = f"{outfit.style} look {outfit.set_id}"
            titles[outfit.set_id] = {"url_name": name, "title": name.title()}
    return titles


def _maryland_outfit(outfit: _SynthOutfit) -> dict[str, Any]:
    """One outfit record of {split}_no_dup.json."""
    items = []
    for item in outfit.items:
        category_id, fine = CATEGORIES[item.category]
        items.append({
            "index": item.index,
            "name": f"{item.style} {fine.lower()}",
            "categoryid": int(category_id),
            "price": 10.0 * item.index,
            "likes": item.index,
            "image": f"https://example.invalid/{item.token}.jpg",
        })
    return {"set_id": outfit.set_id, "name": f"{outfit.style} look", "items": items, "likes": 0, "views": 0}


def _write_images(rng: np.random.Generator, images: dict[Path, _SynthItem], size: int) -> None:
    """Draw and save each item's photo as a small JPEG."""
    for path, item in images.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        _draw_item(rng, item, size).save(path, format="JPEG", quality=90)


def _draw_item(rng: np.random.Generator, item: _SynthItem, size: int) -> Image.Image:
    """The item's silhouette in a jittered palette colour, shifted a little, plus mild pixel noise."""
    palette = STYLES[item.style]
    base = np.array(palette[int(rng.integers(len(palette)))])
    colour = tuple(int(c) for c in np.clip(base + rng.integers(-15, 16, size=3), 0, 255))
    shift = rng.uniform(-0.05, 0.05, size=2)
    image = Image.new("RGB", (size, size), (_BACKGROUND,) * 3)
    draw = ImageDraw.Draw(image)
    for polygon in _SHAPES[item.category]:
        draw.polygon([((x + shift[0]) * size, (y + shift[1]) * size) for x, y in polygon], fill=colour)
    pixels = np.asarray(image, dtype=np.float64) + rng.normal(0.0, 6.0, size=(size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _write_json(path: Path, data: Any) -> None:
    """Write data as JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
