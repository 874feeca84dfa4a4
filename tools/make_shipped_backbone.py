"""Rebuild the shipped default backbone, src/outfitter/weights/efficientnet_lite0_fashion.pt.

It is `outfitter tune` on the train split of ../shared/data/clothing-small (3,068 photos, 10 classes), so the
photos that benchmarks/similar_quality.py measures on (the test split) were never seen in tuning. The shipped
compatibility model and slot predictor (tools/make_default_compat.py) are fitted on this backbone's vectors:
rebuild them after it.

`--hold-out-kinds hat outwear skirt --out FILE.pt` makes the same recipe without those kinds, to measure how it does
on kinds it was never tuned on (`benchmarks/similar_quality.py --held-out-kinds hat outwear skirt --backbones
efficientnet_lite0 FILE.pt`).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from outfitter.backbones.tune import TuneSettings, tune_backbone
from outfitter.types import Item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path(__file__).parents[2] / "shared/data/clothing-small")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parents[1] / "src/outfitter/weights/efficientnet_lite0_fashion.pt")
    parser.add_argument("--epochs", type=int, default=TuneSettings.epochs)
    parser.add_argument("--hard-negatives", type=float, default=TuneSettings.hard_negatives,
                        help="Weight of the batch-hard triplet term.")
    parser.add_argument("--hold-out-kinds", nargs="+", default=[], metavar="KIND",
                        help="Leave these classes out of tuning (to measure kinds it never saw).")
    args = parser.parse_args()
    with open(args.source / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train" and r["label"] not in args.hold_out_kinds]
    items = [Item(r["path"], str(args.source / r["path"]), r["label"]) for r in rows]
    settings = TuneSettings(epochs=args.epochs, hard_negatives=args.hard_negatives)
    report = tune_backbone(items, args.out, settings=settings, workers=1)
    print(f"held-out (10% of train) precision: before {report.before} after {report.after}; losses {report.losses}")


if __name__ == "__main__":
    main()
