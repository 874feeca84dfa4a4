"""Maryland Polyvore (Han et al., 2017): outfits, items, and the test-set FITB and compatibility tasks.

Layout under root: ``{train,valid,test}_no_dup.json`` (lists of outfits ``{set_id, name, items: [{index,
name, categoryid, price, likes, image}]}``), photos at ``images/{set_id}/{index}.jpg``,
``fill_in_blank_test.json`` (the first answer is the right one) and ``fashion_compatibility_prediction.txt``.
Items have no id of their own: an item is ``f"{set_id}_{index}"``, the token the task files use, and its
category is ``str(categoryid)``. Both tasks name test-split items only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from outfitter.datasets.folder import OnMissing, report_missing
from outfitter.datasets.polyvore_outfits import (
    SPLITS,
    FITBQuestion,
    check_choice,
    get_field,
    get_list,
    load_json,
    read_compatibility,
    read_fitb,
)
from outfitter.errors import InputError
from outfitter.types import Item, Outfit

_ATTRIBUTES = {"name": "name", "price": "price", "likes": "likes", "image": "image_url"}


class MarylandPolyvore:
    """Reader for a Maryland Polyvore folder."""

    def __init__(self, root: str | Path, *, on_missing: OnMissing | None = None) -> None:
        self.root = Path(root).absolute()
        self.on_missing = on_missing
        if not self.root.is_dir():
            raise InputError("Maryland Polyvore folder does not exist", path=self.root)
        self._outfits: dict[str, list[Outfit]] = {}
        self._items: dict[str, list[Item]] = {}

    def items(self, split: str | None = None) -> list[Item]:
        """Items with a photo on disk, of one split or (None) of every split whose file is present."""
        splits = [split] if split is not None else self._present_splits()
        return [item for name in splits for item in self._split_items(name)]

    def outfits(self, split: str) -> list[Outfit]:
        """The split's outfits, each with its item ids in index order."""
        self._load_split(split)
        return list(self._outfits[split])

    def fitb(self, split: str = "test") -> list[FITBQuestion]:
        """The test-set fill-in-the-blank questions; `correct` is always 0, as the first answer is right."""
        _only_test(split)
        return read_fitb(self.root / "fill_in_blank_test.json", self._test_tokens(), first_is_correct=True)

    def compatibility(self, split: str = "test") -> list[tuple[int, list[str]]]:
        """(label, item ids) per line of fashion_compatibility_prediction.txt; label 1 = a real outfit."""
        _only_test(split)
        return read_compatibility(self.root / "fashion_compatibility_prediction.txt", self._test_tokens())

    def _present_splits(self) -> list[str]:
        """The splits whose JSON file exists; InputError if there are none."""
        present = [split for split in SPLITS if self._split_path(split).is_file()]
        if not present:
            raise InputError("no {train,valid,test}_no_dup.json found", path=self.root)
        return present

    def _split_path(self, split: str) -> Path:
        """Where the split's outfits are."""
        return self.root / f"{check_choice(split, SPLITS, 'split')}_no_dup.json"

    def _test_tokens(self) -> dict[str, str]:
        """Identity map over the test items' 'setid_index' ids, used to check the task files' tokens."""
        return {item_id: item_id for outfit in self.outfits("test") for item_id in outfit.item_ids}

    def _split_items(self, split: str) -> list[Item]:
        """The split's items that have a photo; those without are reported once, when first read."""
        self._load_split(split)
        return self._items[split]

    def _load_split(self, split: str) -> None:
        """Parse {split}_no_dup.json once into outfits and items."""
        path = self._split_path(split)
        if split in self._outfits:
            return
        outfits, items, missing = [], [], []
        for number, record in enumerate(get_list(load_json(path), path)):
            outfit, outfit_items = _parse_outfit(record, self.root / "images", path, f"[{number}]")
            outfits.append(outfit)
            for item in outfit_items:
                if os.path.isfile(item.path):
                    items.append(item)
                else:
                    missing.append(f"{item.path}: image not found, item {item.item_id} skipped")
        report_missing(missing, self.on_missing)
        self._outfits[split], self._items[split] = outfits, items


def _parse_outfit(record: Any, images: Path, path: Path, where: str) -> tuple[Outfit, list[Item]]:
    """One outfit record: the Outfit (items in index order) and its Items."""
    set_id = str(get_field(record, "set_id", (str, int), path, where))
    items = []
    for number, entry in enumerate(get_field(record, "items", list, path, where)):
        items.append(_parse_item(entry, set_id, images, path, f"{where}.items[{number}]"))
    items.sort(key=lambda item: item.attributes["index"])
    ids = tuple(item.item_id for item in items)
    if len(set(ids)) != len(ids):
        raise InputError(f"outfit {set_id} repeats an item index", path=path, field=f"{where}.items")
    return Outfit(set_id=set_id, item_ids=ids), items


def _parse_item(entry: Any, set_id: str, images: Path, path: Path, where: str) -> Item:
    """One item record as an Item with id 'setid_index'; name, price, likes and image URL become attributes."""
    index = get_field(entry, "index", int, path, where)
    category = get_field(entry, "categoryid", (int, str), path, where)
    attributes: dict[str, Any] = {"index": index, "set_id": set_id}
    attributes.update({new: entry[old] for old, new in _ATTRIBUTES.items() if old in entry})
    return Item(
        item_id=f"{set_id}_{index}",
        path=str(images / set_id / f"{index}.jpg"),
        category=str(category),
        attributes=attributes,
    )


def _only_test(split: str) -> None:
    """Maryland Polyvore publishes its question sets for the test split alone."""
    if split != "test":
        raise InputError(f"Maryland Polyvore has question sets for the test split only, not {split!r}", field="split")
