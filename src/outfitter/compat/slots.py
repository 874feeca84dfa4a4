"""Outfit slots: which kinds of item (semantic categories) are worn together, learned from outfits.

`OutfitSlots.learn` counts, per slot, the outfits holding it and holding two or more items of it, and per pair
the outfits holding both. From these counts (shipped as plain JSON in a checkpoint's meta) come the rules:
- worn together: a pair co-occurs in at least `min_count` (3) outfits and `min_share` (2%) of the rarer slot's
  outfits, so one odd photo is no evidence, yet rare slots (hats, scarves) keep their real partners;
- exclusive: the pair's odds ratio (Haldane-corrected, so zero counts stay finite) is at most `max_odds_ratio`
  (1/4) and its 95% upper bound is below 1 (a significant deficit, not a small-sample accident). The odds ratio
  ignores how common each slot is; on the street outfits it is 0.02 for all-body/bottoms and 0.22 for
  all-body/tops, then 0.29 for all-body/outerwear (CCP's "suit", labelled all-body, is a jacket) and 0.42 next;
- single: a slot with two items in under `max_repeat_share` (10%) of its outfits (or under `min_count`) is
  never offered twice; repeating slots (jewellery in Polyvore) may be offered again.
A shop's own category names map to slots by `resolve`: a user mapping first, then a synonym table, else None.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from outfitter.errors import InputError

SLOTS = ("accessories", "all-body", "bags", "bottoms", "hats", "jewellery", "outerwear", "scarves", "shoes",
         "sunglasses", "tops")
# Shop names per slot, following Polyvore's categories.csv where it decides (cardigan and vest are outerwear
# there: both are worn over a top; suit is all-body: it covers top and bottom). Written without hyphens/spaces.
_NAMES = {
    "tops": "top tee tshirt shirt blouse longsleeve shortsleeve tank camisole cami polo tunic bodysuit sweater "
            "jumper pullover sweatshirt hoodie",
    "bottoms": "bottom pants trousers jeans chinos joggers shorts skirt leggings",
    "all-body": "allbody dress jumpsuit romper playsuit suit",
    "outerwear": "outerwear outwear coat jacket blazer parka anorak trench raincoat cardigan vest gilet cape poncho",
    "shoes": "shoe sneaker trainer boot heel pump sandal loafer flat mule clog wedge slipper",
    "bags": "bag handbag purse backpack tote clutch satchel wallet",
    "hats": "hat cap beanie beret fedora",
    "sunglasses": "sunglasses glasses shades eyewear",
    "scarves": "scarf scarves shawl bandana",
    # belts, gloves, ties and socks are small extras that neither clash with nor replace a garment
    "accessories": "accessories accessory belt gloves tie socks tights",
    "jewellery": "jewellery jewelry watch necklace earring bracelet ring",
}
NAME_TABLE = {name: slot for slot, names in _NAMES.items() for name in names.split()} | {
    re.sub("[^a-z]", "", slot): slot for slot in SLOTS}
Z95 = 1.96


@dataclass(frozen=True)
class OutfitSlots:
    """Counts of slots in outfits: per slot, per slot repeated, per pair (outfits holding both), and outfits."""

    slots: tuple[str, ...]
    together: tuple[tuple[int, ...], ...]
    outfits: tuple[int, ...]
    repeats: tuple[int, ...]
    n_outfits: int
    min_count: int = 3
    min_share: float = 0.02
    max_odds_ratio: float = 0.25
    max_repeat_share: float = 0.1

    @classmethod
    def learn(cls, outfits: Iterable[Sequence[str]], **rules: Any) -> OutfitSlots:
        """Count slots in outfits (each a sequence of its items' slots); rules override the thresholds."""
        outfits = [list(outfit) for outfit in outfits]
        slots = tuple(sorted({slot for outfit in outfits for slot in outfit}))
        index = {slot: i for i, slot in enumerate(slots)}
        together = [[0] * len(slots) for _ in slots]
        repeats = [0] * len(slots)
        for outfit in outfits:
            present = sorted({index[slot] for slot in outfit})
            for i in present:
                repeats[i] += outfit.count(slots[i]) > 1
                for j in present:
                    together[i][j] += 1
        return cls(slots, tuple(map(tuple, together)), tuple(together[i][i] for i in range(len(slots))),
                   tuple(repeats), len(outfits), **rules)

    def to_dict(self) -> dict[str, Any]:
        """Counts and thresholds as plain JSON types (tuples become lists), for a checkpoint's meta."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OutfitSlots:
        """The inverse of to_dict (lists back to tuples)."""
        lists = {"slots": tuple(d["slots"]), "together": tuple(map(tuple, d["together"])),
                 "outfits": tuple(d["outfits"]), "repeats": tuple(d["repeats"])}
        return cls(**{**d, **lists})

    @cached_property
    def _index(self) -> dict[str, int]:
        """Slot name -> row."""
        return {slot: i for i, slot in enumerate(self.slots)}

    def clashes(self, a: str, b: str) -> bool:
        """True when a and b cannot be in one outfit: the same single slot, or an exclusive pair."""
        i, j = self._at(a), self._at(b)
        if i == j:
            return self._count(i, i) < max(self.min_count, self.max_repeat_share * self.outfits[i])
        log_ratio, error = self._log_odds_ratio(i, j)
        return log_ratio <= math.log(self.max_odds_ratio) and log_ratio + Z95 * error < 0

    def frequency(self, query_slots: Sequence[str]) -> dict[str, float]:
        """Every slot's product over query slots s of P(slot | s): how often it is worn with the whole query."""
        rows = [self._at(slot) for slot in query_slots]
        return {slot: math.prod(self._count(i, j) / self.outfits[i] for i in rows) for j, slot in enumerate(self.slots)}

    def goes_with(self, query_slots: Sequence[str]) -> list[str]:
        """Slots worn with, and clashing with none of, the query slots, most frequent first (ties by name)."""
        scores = self.frequency(query_slots)
        fits = [slot for slot in self.slots if all(self._goes(query, slot) for query in query_slots)]
        return sorted(fits, key=lambda slot: (-scores[slot], slot))

    def slot_errors(self, query_slots: Sequence[str], recommended_slots: Sequence[str]) -> int:
        """How many recommended slots clash with, or are never worn with, some query slot (a benchmark)."""
        return sum(not all(self._goes(query, slot) for query in query_slots) for slot in recommended_slots)

    def _goes(self, a: str, b: str) -> bool:
        """b may join an outfit holding a: no clash, and worn together often enough."""
        i, j = self._at(a), self._at(b)
        count = self._count(i, j)
        enough = count >= self.min_count and count >= self.min_share * min(self.outfits[i], self.outfits[j])
        return enough and not self.clashes(a, b)

    def _count(self, i: int, j: int) -> int:
        """Outfits holding slots i and j; for i == j, outfits holding two or more items of i."""
        return self.repeats[i] if i == j else self.together[i][j]

    def _log_odds_ratio(self, i: int, j: int) -> tuple[float, float]:
        """Log odds ratio of slots i and j in one outfit (0.5 added to each cell) and its standard error."""
        both = self.together[i][j]
        cells = [both, self.outfits[i] - both, self.outfits[j] - both,
                 self.n_outfits - self.outfits[i] - self.outfits[j] + both]
        a, b, c, d = (cell + 0.5 for cell in cells)
        return math.log(a * d / (b * c)), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)

    def _at(self, slot: str) -> int:
        """The slot's row, or InputError naming it."""
        if slot not in self._index:
            raise InputError(f"unknown slot {slot!r}; learned slots are {', '.join(self.slots)}")
        return self._index[slot]


def slot_for_name(name: str) -> str | None:
    """A shop category name's slot from the synonym table (any case, plural, hyphens; else its last word)."""
    words = name.lower().split()
    for key in (name.lower(), words[-1] if words else ""):
        key = re.sub("[^a-z]", "", key)
        for stem in (key, key.removesuffix("s"), key.removesuffix("es")):
            if stem in NAME_TABLE:
                return NAME_TABLE[stem]
    return None


def read_slot_mapping(path: str | Path) -> dict[str, str]:
    """A user's category -> slot mapping: a .json object, else CSV rows `category,slot` (header `...,slot` optional)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("slot mapping file not found", path=path)
    if path.suffix.lower() == ".json":
        return _read_json_mapping(path)
    mapping = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if not row or (reader.line_num == 1 and row[-1].strip().lower() == "slot"):
                continue
            if len(row) != 2:
                raise InputError(f"expected 2 fields (category, slot), got {len(row)}", path=path, line=reader.line_num)
            mapping[row[0].strip()] = _check_slot(row[1].strip(), path=path, line=reader.line_num)
    return mapping


def resolve(categories: Sequence[str], mapping: Mapping[str, str] | str | Path | None = None) -> dict[str, str | None]:
    """Each shop category's slot: the user mapping (dict or file) first, then the name table, else None."""
    if isinstance(mapping, (str, Path)):
        mapping = read_slot_mapping(mapping)
    user = {key.lower(): _check_slot(slot, field=key) for key, slot in (mapping or {}).items()}
    return {category: user.get(category.lower()) or slot_for_name(category) for category in categories}


def _read_json_mapping(path: Path) -> dict[str, str]:
    """A JSON object of category -> slot, each slot checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"not valid JSON: {error}", path=path) from error
    if not isinstance(data, dict):
        raise InputError("expected a JSON object of category -> slot", path=path)
    return {key: _check_slot(slot, path=path, field=key) for key, slot in data.items()}


def _check_slot(slot: Any, **where: Any) -> str:
    """slot if it is one of the 11 semantic categories, else InputError located by where (path, line, field)."""
    if slot not in SLOTS:
        raise InputError(f"unknown slot {slot!r}; slots are {', '.join(SLOTS)}", **where)
    return slot
