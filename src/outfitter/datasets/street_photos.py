"""Read a street-photos folder: photos of people with a garment label per pixel (Clothing Co-Parsing's layout).

`photos/NNNN.jpg`, `masks/NNNN.png` (8-bit label ids) and `labels.csv` (`id,name,semantic_category`). Splits go
by photo number as street-outfits' do (train 1-640, valid 641-720, test 721-800), so a photo and the items cut
from it are always in the same split.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from outfitter.errors import InputError

SPLIT_RANGES = {"train": (1, 640), "valid": (641, 720), "test": (721, 800)}
LABELS_FILE = "labels.csv"


@dataclass(frozen=True)
class StreetPhoto:
    """One photo and its label map (same size): `number` is CCP's photo number."""

    number: int
    photo: Path
    mask: Path

    def load(self) -> tuple[Image.Image, np.ndarray]:
        """The RGB photo and its label ids as a uint8 [H, W] array."""
        image = Image.open(self.photo).convert("RGB")
        labels = np.asarray(Image.open(self.mask))
        if labels.shape != (image.height, image.width):
            raise InputError(f"mask is {labels.shape[1]}x{labels.shape[0]} but its photo is "
                             f"{image.width}x{image.height}", path=self.mask)
        return image, labels


class StreetPhotos:
    """A street-photos folder: its label table and its photos by split."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not (self.root / LABELS_FILE).is_file():
            raise InputError(f"not a street-photos folder: no {LABELS_FILE}", path=self.root)
        self.label_categories = read_label_categories(self.root / LABELS_FILE)

    def photos(self, split: str) -> list[StreetPhoto]:
        """The split's photos that have a mask, by number."""
        if split not in SPLIT_RANGES:
            raise InputError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_RANGES)}", field="split")
        first, last = SPLIT_RANGES[split]
        found = []
        for photo in sorted((self.root / "photos").glob("*.jpg")):
            if photo.stem.isdigit() and first <= int(photo.stem) <= last:
                mask = self.root / "masks" / f"{photo.stem}.png"
                if mask.is_file():
                    found.append(StreetPhoto(int(photo.stem), photo, mask))
        return found


def read_label_categories(path: Path) -> dict[int, str | None]:
    """labels.csv as label id -> semantic category (None for skin, hair, background and other non-products)."""
    table: dict[int, str | None] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                table[int(row["id"])] = row.get("semantic_category") or None
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"bad row: {exc}", path=path, line=line) from exc
    return table
