"""Complementary quality in one run: the shipped default against the original's recipes and two baselines.

On street-outfits test (real outfits; hard negatives swap every item for one of the same slot): AUC and FITB of
- default: the shipped GarmentNet (src/outfitter/weights/garment_street.pt);
- original_mlp: the original's recipe, CompatibilityMLP on concatenated backbone vectors with random negatives,
  BCE, Adam 1e-4, batch 1024, 10 epochs (ImageNet EfficientNet-Lite0 vectors: ResNet50 weights are not offline);
- polania: PolaniaNet trained the original's way (first 5000 outfits, 6 random negatives per positive, MAP loss,
  batch 64, Adam 1e-4, up to 20 epochs with early stopping; EfficientNet-Lite0 encoder: VGG16 is not offline);
- random: random scores (mean over RANDOM_DRAWS seeded draws: one draw on 79 outfits strays far from chance);
  category_only: a pair scores how often its two slots are worn together.
Then on the shipped demo catalogue: query dependence (over the demo's query photos, the share of (query, slot)
top-1 items that differ from the slot's most common top-1) and slot errors (recommended rows of the query's own
slot or of a slot never worn with it, over the demo queries and every street-outfits test item as a query).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from outfitter.compat import compatibility_auc, evaluate, fitb_accuracy, train
from outfitter.compat.checkpoint import read_checkpoint, shipped_model_path
from outfitter.compat.slots import OutfitSlots, slot_for_name
from outfitter.datasets import PolyvoreOutfits, read_manifest
from outfitter.demo import demo_data
from outfitter.pipeline.indexing import index_items
from outfitter.recommend import Catalog

SHARED = Path(__file__).parents[2] / "shared/data"
RANDOM_DRAWS = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outfits", type=Path, default=SHARED / "street-outfits/polyvore_outfits")
    parser.add_argument("--model", type=Path, default=shipped_model_path(), help="The model measured as 'default'.")
    parser.add_argument("--cache", type=Path, default=Path(".outfitter-cache"))
    parser.add_argument("--skip-polania", action="store_true", help="Leave out PolaniaNet (its training is the slow part).")
    parser.add_argument("--polania-image-size", type=int, default=None, help="Train PolaniaNet at a smaller input size.")
    parser.add_argument("--json", action="store_true", help="Print one JSON line.")
    args = parser.parse_args()
    dataset = PolyvoreOutfits(args.outfits)
    slots = OutfitSlots.from_dict(read_checkpoint(args.model)["meta"]["slots"])
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        results = {"default": metrics(evaluate(dataset, "test", args.model, args.cache, progress=False)),
                   "original_mlp": metrics(original_mlp(dataset, work, args.cache))}
        if not args.skip_polania:
            results["polania"] = metrics(original_polania(dataset, work, args.cache, args.polania_image_size))
        results |= baselines(dataset, slots)
        dependence, demo_errors = demo_queries(work, args.model, slots)
        results |= {"query_dependence": dependence, "slot_errors": demo_errors + street_slot_errors(
            dataset, work, args.model, slots)}
    report(results, args.json)


def metrics(values: dict[str, float]) -> dict[str, float]:
    """The two compatibility metrics, rounded."""
    return {"auc": round(values["auc"], 4), "fitb_accuracy": round(values["fitb_accuracy"], 4)}


def original_mlp(dataset: PolyvoreOutfits, work: Path, cache: Path) -> dict[str, float]:
    """The original's CompatibilityMLP recipe (random negatives), trained on train, measured on test."""
    result = train(dataset, model="mlp", backbone="efficientnet_lite0", out=work / "mlp.pt", negatives="random",
                   cache_dir=cache, progress=False)
    return evaluate(dataset, "test", result.checkpoint, cache, progress=False)


def original_polania(dataset: PolyvoreOutfits, work: Path, cache: Path, image_size: int | None) -> dict[str, float]:
    """PolaniaNet trained with its recipe (the original's settings), measured on test."""
    result = train(dataset, model="polania", backbone="efficientnet_lite0", out=work / "polania.pt",
                   image_size=image_size, cache_dir=cache, progress=False)
    return evaluate(dataset, "test", result.checkpoint, cache, progress=False)


def baselines(dataset: PolyvoreOutfits, slots: OutfitSlots) -> dict[str, dict[str, float]]:
    """Random scores, and scores from slot co-occurrence alone (blind to what the items look like)."""
    slot_of = {item.item_id: slot_for_name(item.category or "") for item in dataset.items("test")}
    labels, outfits = zip(*dataset.compatibility("test"))
    questions = dataset.fitb("test")
    rng = np.random.default_rng(0)
    pair = lambda a, b: slots.frequency([slot_of[a]])[slot_of[b]]  # noqa: E731
    category_scores = [np.mean([pair(a, b) for i, a in enumerate(o) for b in o[i + 1:]]) for o in outfits]
    category_fitb = np.array([[sum(pair(q, a) for q in question.question) for a in question.answers]
                              for question in questions])
    correct = [q.correct for q in questions]
    draws = [(compatibility_auc(labels, rng.random(len(labels))), fitb_accuracy(rng.random((len(questions), 4)), correct))
             for _ in range(RANDOM_DRAWS)]
    return {
        "random": metrics({"auc": float(np.mean([d[0] for d in draws])),
                           "fitb_accuracy": float(np.mean([d[1] for d in draws]))}),
        "category_only": metrics({"auc": compatibility_auc(labels, category_scores),
                                  "fitb_accuracy": fitb_accuracy(category_fitb, correct)}),
    }


def demo_queries(work: Path, model: Path, slots: OutfitSlots) -> tuple[float, int]:
    """Query dependence of the top-1 per slot over the demo's query photos, and their slot errors."""
    data = demo_data()
    index_items(read_manifest(data / "catalog.csv"), work / "demo-store", progress=False)
    catalog = Catalog.open(work / "demo-store", model=model, progress=False)
    tops, errors = {}, 0
    for query in read_manifest(data / "queries.csv"):
        found = catalog.complementary(images=[query.path], k=1)
        errors += slots.slot_errors([slot_for_name(query.category)], list(found))
        tops[query.item_id] = {row: hits[0].item_id for row, hits in found.items() if hits}
    return round(query_dependence(tops), 4), errors


def query_dependence(tops: dict[str, dict[str, str]]) -> float:
    """Share of (query, slot) top-1 items that differ from the most common top-1 of that slot."""
    by_slot: dict[str, list[str]] = {}
    for picks in tops.values():
        for slot, item_id in picks.items():
            by_slot.setdefault(slot, []).append(item_id)
    differ = sum(len(ids) - Counter(ids).most_common(1)[0][1] for ids in by_slot.values())
    return differ / max(1, sum(len(ids) for ids in by_slot.values()))


def street_slot_errors(dataset: PolyvoreOutfits, work: Path, model: Path, slots: OutfitSlots) -> int:
    """Slot errors with every street-outfits test item as a query, over a catalogue of the test items."""
    items = dataset.items("test")
    index_items(items, work / "street-store", progress=False)
    catalog = Catalog.open(work / "street-store", model=model, progress=False)
    return sum(slots.slot_errors([slot_for_name(item.category)], list(catalog.complementary([item.item_id], k=1)))
               for item in items if item.item_id in catalog.store)


def report(results: dict, as_json: bool) -> None:
    """One JSON line, or a table with the default's ratio to the original recipe."""
    if as_json:
        print(json.dumps(results))
        return
    for name in ("default", "original_mlp", "polania", "random", "category_only"):
        if name in results:
            print(f"{name:14s} AUC {results[name]['auc']:.3f}  FITB {results[name]['fitb_accuracy']:.3f}")
    base = results["original_mlp"]
    print(f"default / original_mlp: AUC x{results['default']['auc'] / base['auc']:.2f}, "
          f"FITB x{results['default']['fitb_accuracy'] / base['fitb_accuracy']:.2f}")
    print(f"query dependence on the demo: {results['query_dependence']:.2f}; slot errors: {results['slot_errors']}")


if __name__ == "__main__":
    main()
