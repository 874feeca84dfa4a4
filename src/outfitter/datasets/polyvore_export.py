"""Write outfits of one's own catalogue in the exact Polyvore Outfits format, so `outfitter train` can use them."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from outfitter.types import Item, Outfit


@dataclass
class SplitData:
    """One split: outfits, labelled item lists for compatibility, and FITB questions.

    A FITB question is (outfit, position of the hidden item in it, three wrong item ids); wrong items must
    belong to other outfits of the split, as every answer is written as a `setid_index` token.
    """

    outfits: list[Outfit]
    compatibility: list[tuple[int, list[str]]] = field(default_factory=list)
    fitb: list[tuple[Outfit, int, list[str]]] = field(default_factory=list)


def write_polyvore(root: str | Path, items: Sequence[Item], splits: Mapping[str, SplitData],
                   *, version: str = "nondisjoint") -> Path:
    """Write items (photos linked or copied to images/{id}.jpg) and splits under `root`; returns root."""
    root = Path(root)
    (root / version).mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    for item in items:
        _place_image(Path(item.path), root / "images" / f"{item.item_id}.jpg")
    names = sorted({it.category for it in items if it.category})
    ids = {name: str(n + 1) for n, name in enumerate(names)}
    metadata = {it.item_id: _metadata(it, ids) for it in items}
    _dump(root / "polyvore_item_metadata.json", metadata)
    (root / "categories.csv").write_text("".join(f"{ids[n]},{n},{n}\n" for n in names))
    _dump(root / "polyvore_outfit_titles.json", {o.set_id: {"url_name": o.set_id, "title": o.set_id}
                                                  for s in splits.values() for o in s.outfits})
    for split, data in splits.items():
        _write_split(root / version, split, data)
    return root


def _write_split(folder: Path, split: str, data: SplitData) -> None:
    token = {i: f"{o.set_id}_{n}" for o in data.outfits for n, i in enumerate(o.item_ids, 1)}
    _dump(folder / f"{split}.json", [{"set_id": o.set_id, "items": [{"item_id": i, "index": n}
                                      for n, i in enumerate(o.item_ids, 1)]} for o in data.outfits])
    lines = [" ".join([str(label), *(token[i] for i in ids)]) for label, ids in data.compatibility]
    (folder / f"compatibility_{split}.txt").write_text("".join(line + "\n" for line in lines))
    _dump(folder / f"fill_in_blank_{split}.json", [_fitb_record(o, blank, wrong, token) for o, blank, wrong in data.fitb])


def _fitb_record(outfit: Outfit, blank: int, wrong: Sequence[str], token: Mapping[str, str]) -> dict:
    """The question is the outfit without its item at `blank`; the right answer is listed first."""
    question = [f"{outfit.set_id}_{n}" for n in range(1, len(outfit.item_ids) + 1) if n != blank + 1]
    answers = [f"{outfit.set_id}_{blank + 1}", *(token[i] for i in wrong)]
    return {"question": question, "answers": answers, "blank_position": blank + 1}


def _metadata(item: Item, ids: Mapping[str, str]) -> dict:
    title = str(item.attributes.get("title", item.item_id))
    return {"url_name": title, "description": "", "catgeories": [item.category or ""], "title": title,
            "related": [], "category_id": ids.get(item.category or "", "0"), "semantic_category": item.category}


def _place_image(src: Path, dst: Path) -> None:
    """Link the photo in (copy where links are not possible); the dataset format wants images/{id}.jpg."""
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.symlink(src.resolve(), dst)
    except OSError:
        shutil.copyfile(src, dst)


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1))
