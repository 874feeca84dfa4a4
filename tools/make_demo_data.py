"""Rebuild the demo catalogue shipped in src/outfitter/demo/data from ../shared/data/clothing-small.

25 catalogue photos per class from the train split and 1 query photo per class from the test split, picked
by a seeded shuffle and downscaled to 256 px on the long side to keep the package small.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from PIL import Image

PER_CLASS = 25
LONG_SIDE = 256


def pick(rows: list[dict], split: str, per_class: int, rng: random.Random) -> list[dict]:
    """`per_class` rows of each label from `split`, seeded shuffle."""
    chosen = []
    for label in sorted({r["label"] for r in rows}):
        pool = [r for r in rows if r["split"] == split and r["label"] == label]
        rng.shuffle(pool)
        chosen += pool[:per_class]
    return chosen


def copy_small(src: Path, dst: Path) -> None:
    """Save a downscaled JPEG copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((LONG_SIDE, LONG_SIDE))
        im.save(dst, quality=88)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path(__file__).parents[2] / "shared/data/clothing-small")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "src/outfitter/demo/data")
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.source / "manifest.csv")))
    rng = random.Random(7)
    for folder, split, n in (("catalog", "train", PER_CLASS), ("queries", "test", 1)):
        picked = pick(rows, split, n, rng)
        with open(args.out / f"{folder}.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "id", "category", "source"])
            for r in picked:
                rel = Path(folder) / r["label"] / Path(r["path"]).name
                copy_small(args.source / r["path"], args.out / rel)
                writer.writerow([rel.as_posix(), f"{r['label']}-{Path(r['path']).stem[:8]}", r["label"], r["path"]])


if __name__ == "__main__":
    main()
