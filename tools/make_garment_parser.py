"""Rebuild the shipped garment parser, src/outfitter/weights/garment_parser.pt.

Trains Lite0's last blocks and the decoder on street-photos (by default the train and valid splits, photos
1-720, each seen as it is, mirrored and zoomed) over the frozen offline EfficientNet-Lite0, together with 640
product shots of clothing-small's train split (one garment each, labelled "background or its kind"), so that a
product shot shows no person. `--hold-out valid`
trains on train alone and records the IoU per class on valid in the file, for choosing settings. The test split
(721-800) stays unseen either way: benchmarks/look_quality.py measures on it.
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
from pathlib import Path

from rich.progress import track

from outfitter.compat.slots import slot_for_name
from outfitter.datasets.street_photos import StreetPhotos
from outfitter.parsing.labels import MAIN_GARMENTS, class_table
from outfitter.parsing.net import DECODER_WIDTH, build_parts
from outfitter.parsing.parser import save_decoder
from outfitter.parsing.train import (
    VIEWS,
    FeatureSet,
    ParserSettings,
    cache_features,
    joined,
    product_samples,
    street_samples,
    train_decoder,
)

ROOT = Path(__file__).parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--street-photos", type=Path, default=ROOT.parent / "shared/data/street-photos")
    parser.add_argument("--products", type=Path, default=ROOT.parent / "shared/data/clothing-small",
                        help="A folder with manifest.csv (path,label,split) of product shots; its train split is used.")
    parser.add_argument("--product-shots", type=int, default=640, help="How many product shots to train with.")
    parser.add_argument("--out", type=Path, default=ROOT / "src/outfitter/weights/garment_parser.pt")
    parser.add_argument("--epochs", type=int, default=ParserSettings.epochs)
    parser.add_argument("--width", type=int, default=DECODER_WIDTH)
    parser.add_argument("--hold-out", choices=["valid"], default=None, help="Train on train alone; score on this.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data = StreetPhotos(args.street_photos)
    table, (encoder, decoder) = class_table(data.label_categories), build_parts(width=args.width)
    splits = ["train"] if args.hold_out else ["train", "valid"]
    photos = [photo for split in splits for photo in data.photos(split)]
    street = cache_features(track(street_samples(photos, table), "encoding street photos", total=len(photos)),
                            encoder, VIEWS)
    shots = product_shots(args.products, args.product_shots)
    products = cache_features(track(product_samples(shots), "encoding product shots", total=len(shots)), encoder)
    held: FeatureSet | None = None
    if args.hold_out:
        kept = data.photos(args.hold_out)
        held = cache_features(track(street_samples(kept, table), "encoding held-out photos", total=len(kept)), encoder)
    decoder, report = train_decoder(decoder, joined(street, products), held, ParserSettings(epochs=args.epochs))
    meta = {"trained_on": f"street-photos {' + '.join(splits)} ({len(photos)} CCP photos) and {len(shots)} "
                          f"product shots of {args.products.name}", "epochs": args.epochs, "losses": report.losses}
    if held is not None:
        main_iou = sum(report.iou.get(c, 0.0) for c in MAIN_GARMENTS) / len(MAIN_GARMENTS)
        meta |= {f"{args.hold_out}_iou": report.iou, f"{args.hold_out}_miou_main": round(main_iou, 4)}
        print(f"{args.hold_out} IoU {report.iou}\nmIoU over {', '.join(MAIN_GARMENTS)}: {main_iou:.4f}")
    save_decoder(decoder, args.out, meta)
    print(f"written to {args.out}")


def product_shots(root: Path, count: int, seed: int = 0) -> list[tuple[Path, str]]:
    """`count` train-split photos of a product folder, drawn evenly at random, with their labels' outfit slots."""
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train"]
    chosen = random.Random(seed).sample(rows, min(count, len(rows)))
    return [(root / r["path"], slot_for_name(r["label"])) for r in chosen]


if __name__ == "__main__":
    main()
