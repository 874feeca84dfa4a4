"""Rebuild the shipped default compatibility model, src/outfitter/weights/garment_street.pt.

From the shared data, offline and seeded (so a rerun on the same data and library versions gives the same file):
1. GarmentNet (`outfitter train --model garment`) on the train split of ../shared/data/street-outfits (real outfits
   cut from street photos; Clothing Co-Parsing, Yang, Luo and Lin, CVPR 2014, Apache-2.0), several seeds; the
   one with the best valid AUC + FITB is kept. The outfit slots learned from the training outfits come with it.
2. A slot predictor (logistic regression on the default backbone's vectors) fitted on the street-outfits train
   items and the clothing-small train photos (CC0; their class names map to slots), so it knows both cut-out
   garments and product shots. Its accuracy is reported on the street-outfits test items.
3. Verdict thresholds calibrated on the valid split: an outfit scoring at least the median real outfit "goes
   well"; below the median swapped (hard negative) outfit it "clashes"; in between "so-so".
Test-split AUC / FITB go into the checkpoint's meta and are printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np

from outfitter.backbones import create_backbone
from outfitter.compat import embed_table, evaluate, item_inputs, load_model, outfit_scores, save_checkpoint, train
from outfitter.compat.features import backbone_vectors
from outfitter.compat.slot_predictor import SlotPredictor
from outfitter.compat.slots import slot_for_name
from outfitter.config import DEFAULT_BACKBONE
from outfitter.datasets import PolyvoreOutfits
from outfitter.types import Item

SHARED = Path(__file__).parents[2] / "shared/data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outfits", type=Path, default=SHARED / "street-outfits/polyvore_outfits")
    parser.add_argument("--photos", type=Path, default=SHARED / "clothing-small")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "src/outfitter/weights/garment_street.pt")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(".outfitter-cache"))
    args = parser.parse_args()
    dataset = PolyvoreOutfits(args.outfits)
    with tempfile.TemporaryDirectory() as work:
        best, valid = pick_best(dataset, Path(work), args.seeds, args.cache)
        model, payload = load_model(best)
    predictor, slot_accuracy = fit_slot_predictor(dataset, args.photos, args.cache)
    verdicts = calibrate(dataset, model, args.cache)
    meta = {**payload["meta"], "slot_predictor": predictor.to_dict(), "verdicts": verdicts,
            "source": "street-outfits (Clothing Co-Parsing photos 0001-0640; Yang, Luo and Lin, CVPR 2014)"}
    save_checkpoint(model, args.out, meta)
    test = evaluate(dataset, "test", args.out, args.cache, progress=False)
    save_checkpoint(model, args.out, {**meta, "valid": valid, "test": test, "slot_accuracy": slot_accuracy})
    print(json.dumps({"valid": valid, "test": test, "slot_accuracy": slot_accuracy, "verdicts": verdicts}))


def pick_best(dataset: PolyvoreOutfits, work: Path, seeds: int, cache: Path) -> tuple[Path, dict[str, float]]:
    """Train one GarmentNet per seed; the checkpoint with the best valid AUC + FITB, and its valid metrics."""
    scored = []
    for seed in range(seeds):
        path = train(dataset, model="garment", out=work / f"seed{seed}.pt", seed=seed, cache_dir=cache,
                     progress=False).checkpoint
        metrics = evaluate(dataset, "valid", path, cache, progress=False)
        print(f"seed {seed}: valid AUC {metrics['auc']:.3f} FITB {metrics['fitb_accuracy']:.3f}")
        scored.append((metrics["auc"] + metrics["fitb_accuracy"], seed, path, metrics))
    _, _, path, metrics = max(scored)
    return path, metrics


def fit_slot_predictor(dataset: PolyvoreOutfits, photos: Path, cache: Path) -> tuple[SlotPredictor, dict[str, float]]:
    """Slot predictor on street-outfits train items plus clothing-small train photos; accuracy on held-out items."""
    backbone = create_backbone(DEFAULT_BACKBONE)
    train_items = dataset.items("train") + clothing_items(photos, "train")
    test_sets = {"street-outfits test items": dataset.items("test"), "clothing-small test photos": clothing_items(photos, "test")}
    vectors, slots = labelled_vectors(train_items, backbone, cache)
    predictor = SlotPredictor.fit(backbone.name, vectors, slots)
    accuracy = {}
    for name, items in test_sets.items():
        test_vectors, test_slots = labelled_vectors(items, backbone, cache)
        accuracy[name] = float(np.mean(np.array(predictor.predict(test_vectors)) == np.array(test_slots)))
    return predictor, accuracy


def clothing_items(root: Path, split: str) -> list[Item]:
    """clothing-small photos of one split, their class names as categories."""
    with open(root / "manifest.csv", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["split"] == split]
    return [Item(row["path"], str(root / row["path"]), row["label"]) for row in rows]


def labelled_vectors(items: list[Item], backbone, cache: Path) -> tuple[np.ndarray, list[str]]:
    """Backbone vectors of the items whose category names a slot, and those slots."""
    named = [item for item in items if slot_for_name(item.category or "")]
    table = backbone_vectors(named, backbone, cache, progress=False)
    slot_of = {item.item_id: slot_for_name(item.category) for item in named}
    return np.asarray(table.vectors[table.rows]), [slot_of[i] for i in table.ids]


def calibrate(dataset: PolyvoreOutfits, model, cache: Path) -> dict[str, float]:
    """Verdict thresholds from valid outfit scores: median real outfit ("goes well"), median swapped ("so-so")."""
    items = dataset.items("valid")
    embeddings = embed_table(model, item_inputs(model, items, cache, progress=False))
    labels, outfits = zip(*dataset.compatibility("valid"))
    scores = outfit_scores(model, outfits, embeddings)
    labels = np.asarray(labels)
    return {"goes well": round(float(np.nanmedian(scores[labels == 1])), 4),
            "so-so": round(float(np.nanmedian(scores[labels == 0])), 4)}


if __name__ == "__main__":
    main()
