"""Shop-the-look quality on street-photos test: does the garment parser find the garments, and do its crops find
the worn items in a catalogue better than the whole photo does?

On the test photos (721-800) of street-photos, with the shipped garment parser (or `--weights`):
1. parsing: IoU per garment category at each photo's own resolution (the parser's garment masks read back onto
   the photo with nearest neighbour), from one confusion summed over all photos; mIoU over the main garments;
2. garments found: for each main-garment category present in a photo's labels, whether the parser's garment of
   that category overlaps it with IoU >= 0.5;
3. retrieval: a temporary catalogue of every street-outfits test item (built as `outfitter index` builds one);
   each worn main garment of a photo is searched for among the test items of its category (k = all of them)
   with (a) the parser's crop of that category (a category it did not find is a miss), (b) the whole photo and
   (c) as a reference, the crop of the category's labelled region (what a perfect parser would cut);
   recall@1 and @10, and crop@10 / whole@10 (the baseline);
4. speed: median time per photo of `GarmentParser.parse` (letterbox, network, reading garments back) after a
   warm-up, against the catalogue backbone embedding the same photo once.

    python benchmarks/look_quality.py [--json] [--limit N] [--weights PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from outfitter.backbones import Backbone
from outfitter.datasets import PolyvoreOutfits
from outfitter.datasets.street_photos import StreetPhoto, StreetPhotos
from outfitter.parsing.labels import CLASSES, GARMENTS, MAIN_GARMENTS, class_table
from outfitter.parsing.parser import Garment, GarmentParser, ParsedPhoto, shipped_parser_path
from outfitter.parsing.train import class_iou, pixel_confusion
from outfitter.pipeline.indexing import index_items
from outfitter.recommend import Catalog
from outfitter.types import Item

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPLIT = "test"
SET_ID_BASE = 700000  # street-outfits' set_id of photo NNNN is 700000 + NNNN
FOUND_IOU = 0.5
KS = (1, 10)
METHODS = ("crop", "whole", "truth_crop")
METHOD_NAMES = {"crop": "parser's crop", "whole": "whole photo", "truth_crop": "labelled crop (reference)"}
TARGETS = {"miou_main": 0.55, "found_share": 0.75, "crop_vs_whole_at_10": 2.0, "parse_ms": 300.0}


@dataclass
class Tally:
    """What the photos add up to: pixel confusion, found regions, query ranks per method and timings."""

    confusion: np.ndarray = field(default_factory=lambda: np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64))
    found: list[tuple[str, bool]] = field(default_factory=list)
    ranks: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: {m: [] for m in METHODS})
    parse_s: list[float] = field(default_factory=list)
    embed_s: list[float] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    """The command line: data folders, parser weights, how many photos, and the output form."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--street-photos", type=Path, default=DATA / "street-photos")
    parser.add_argument("--street-outfits", type=Path, default=DATA / "street-outfits")
    parser.add_argument("--weights", type=Path, default=None, help="garment parser weights (default: the shipped)")
    parser.add_argument("--limit", type=int, default=None, help="measure only the first N test photos")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    return parser.parse_args()


def outfit_items(outfits: PolyvoreOutfits) -> tuple[list[Item], dict[int, list[Item]]]:
    """The split's items, and the items worn in each photo (by photo number)."""
    items = outfits.items(SPLIT)
    by_id = {item.item_id: item for item in items}
    worn = {int(o.set_id) - SET_ID_BASE: [by_id[i] for i in o.item_ids] for o in outfits.outfits(SPLIT)}
    return items, worn


def build_catalog(items: list[Item], root: Path) -> Catalog:
    """A catalogue store of `items` with the default backbone, built as `outfitter index` builds one."""
    index_items(items, root, progress=False)
    return Catalog.open(root, progress=False)


def timed_parse(parser: GarmentParser, image: Image.Image) -> tuple[ParsedPhoto, float]:
    """The parser's garments of a photo and the seconds `parse` took."""
    start = time.perf_counter()
    parsed = parser.parse(image)
    return parsed, time.perf_counter() - start


def timed_embed(backbone: Backbone, image: Image.Image) -> tuple[np.ndarray, float]:
    """The backbone's vector of one photo and the seconds `embed_images` took."""
    start = time.perf_counter()
    vector = backbone.embed_images([image])[0]
    return vector, time.perf_counter() - start


def on_photo(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A parser mask (on the canvas' inner grid) on the photo's own grid, nearest neighbour, as `Garment.crop` does."""
    return np.asarray(Image.fromarray(mask.astype(np.uint8)).resize(size, Image.NEAREST)).astype(bool)


def predicted_map(parsed: ParsedPhoto, size: tuple[int, int]) -> np.ndarray:
    """Parser classes per photo pixel: each garment's class on its mask, background elsewhere (person pixels are
    not garments, so garment IoUs do not depend on telling them from background)."""
    out = np.zeros((size[1], size[0]), dtype=np.uint8)
    for garment in parsed.garments:
        out[on_photo(garment.mask, size)] = CLASSES.index(garment.category)
    return out


def found_regions(truth: np.ndarray, predicted: np.ndarray) -> list[tuple[str, bool]]:
    """Per main garment present in the labels: whether the predicted region of its category has IoU >= FOUND_IOU."""
    out = []
    for category in MAIN_GARMENTS:
        label = CLASSES.index(category)
        real, guess = truth == label, predicted == label
        if real.any():
            out.append((category, bool((real & guess).sum() / (real | guess).sum() >= FOUND_IOU)))
    return out


def truth_crop(image: Image.Image, truth: np.ndarray, category: str) -> Image.Image:
    """The crop a perfect parser would make: the category's labelled region, cut with `Garment.crop`'s recipe."""
    mask = truth == CLASSES.index(category)
    return Garment(category, (0, 0, *image.size), 1.0, float(mask.mean()), mask).crop(image)


def rank_of(catalog: Catalog, vector: np.ndarray, item: Item, k: int) -> float:
    """Where `item` comes among the top-k catalogue items of its category for `vector` (1 = first); inf if absent."""
    ids = [i for i, _ in catalog.index.search(vector[None], k, category=item.category)[0]]
    return float(ids.index(item.item_id) + 1) if item.item_id in ids else math.inf


def photo_ranks(catalog: Catalog, counts: dict[str, int], image: Image.Image, truth: np.ndarray,
                parsed: ParsedPhoto, whole: np.ndarray, worn: Sequence[Item]) -> dict[str, list[tuple[str, float]]]:
    """Each worn main garment's rank with each query method: the parser's crop, the whole photo, the labelled crop."""
    garments = {g.category: g for g in parsed.garments}
    items = [item for item in worn if item.category in MAIN_GARMENTS]
    cats = sorted({item.category for item in items})
    crops = [garments[c].crop(image) for c in cats if c in garments] + [truth_crop(image, truth, c) for c in cats]
    vectors = iter(catalog.backbone.embed_images(crops))
    predicted = {c: next(vectors) for c in cats if c in garments}
    labelled = {c: next(vectors) for c in cats}
    out: dict[str, list[tuple[str, float]]] = {m: [] for m in METHODS}
    for item in items:
        k = counts[item.category]
        crop = predicted.get(item.category)
        out["crop"].append((item.category, rank_of(catalog, crop, item, k) if crop is not None else math.inf))
        out["whole"].append((item.category, rank_of(catalog, whole, item, k)))
        out["truth_crop"].append((item.category, rank_of(catalog, labelled[item.category], item, k)))
    return out


def measure_photo(photo: StreetPhoto, table: np.ndarray, parser: GarmentParser, catalog: Catalog,
                  counts: dict[str, int], worn: Sequence[Item], tally: Tally) -> None:
    """Parse, score and search one photo, adding what it shows to `tally`."""
    image, ids = photo.load()
    parsed, parse_s = timed_parse(parser, image)
    whole, embed_s = timed_embed(catalog.backbone, image)
    truth, predicted = table[ids], predicted_map(parsed, image.size)
    tally.confusion += pixel_confusion(truth, predicted)
    tally.found += found_regions(truth, predicted)
    for method, ranks in photo_ranks(catalog, counts, image, truth, parsed, whole, worn).items():
        tally.ranks[method] += ranks
    tally.parse_s.append(parse_s)
    tally.embed_s.append(embed_s)


def warm_up(photo: StreetPhoto, parser: GarmentParser, backbone: Backbone) -> None:
    """One untimed parse and embedding, so that no timing pays for first-call set-up."""
    image, _ = photo.load()
    parser.parse(image)
    backbone.embed_images([image])


def recall(ranks: Sequence[tuple[str, float]], k: int) -> float:
    """Share of queries whose item came within the top k."""
    return round(sum(r <= k for _, r in ranks) / len(ranks), 4) if ranks else 0.0


def per_category(pairs: Sequence[tuple[str, object]]) -> dict[str, list]:
    """Values grouped by their category, in MAIN_GARMENTS order."""
    grouped = defaultdict(list)
    for category, value in pairs:
        grouped[category].append(value)
    return {c: grouped[c] for c in MAIN_GARMENTS if c in grouped}


def parsing_numbers(tally: Tally) -> dict:
    """IoU per garment category and the two means."""
    iou = {c: v for c, v in class_iou(tally.confusion).items() if c in GARMENTS}
    main = [iou[c] for c in MAIN_GARMENTS if c in iou]
    return {"iou": iou, "miou_main": round(float(np.mean(main)), 4) if main else 0.0,
            "miou_garments": round(float(np.mean(list(iou.values()))), 4) if iou else 0.0}


def found_numbers(tally: Tally) -> dict:
    """Share of labelled main-garment regions found, overall and per category, with their counts."""
    by_cat = per_category(tally.found)
    return {"regions": len(tally.found), "found": int(sum(ok for _, ok in tally.found)),
            "found_share": round(sum(ok for _, ok in tally.found) / max(1, len(tally.found)), 4),
            "per_category": {c: {"regions": len(v), "found_share": round(sum(v) / len(v), 4)}
                             for c, v in by_cat.items()}}


def retrieval_numbers(tally: Tally) -> dict:
    """Recall@K per query method (overall and @10 per category) and the crop / whole-photo ratio at 10."""
    out: dict = {"queries": len(tally.ranks["crop"])}
    for method, ranks in tally.ranks.items():
        out[method] = {f"recall@{k}": recall(ranks, k) for k in KS}
        out[method]["per_category_recall@10"] = {c: recall([(c, r) for r in v], 10)
                                                 for c, v in per_category(ranks).items()}
    whole = out["whole"]["recall@10"]
    out["crop_vs_whole_at_10"] = round(out["crop"]["recall@10"] / whole, 3) if whole else None
    return out


def speed_numbers(tally: Tally) -> dict:
    """Median milliseconds per photo of parsing and of the backbone's embedding, and their ratio."""
    parse_ms, embed_ms = statistics.median(tally.parse_s) * 1e3, statistics.median(tally.embed_s) * 1e3
    return {"parse_ms": round(parse_ms, 1), "embed_ms": round(embed_ms, 1),
            "parse_vs_embed": round(parse_ms / embed_ms, 3)}


def verdict(met: bool) -> str:
    """How a target reads in the report."""
    return "met" if met else "MISSED"


def print_report(result: dict) -> None:
    """The numbers as a readable report, each target marked met or missed."""
    print(f"shop-the-look quality on street-photos {SPLIT}: {result['photos']} photos; parser {result['weights']} "
          f"({result['runtime']}); catalogue of {result['catalogue_items']} street-outfits {SPLIT} items "
          f"({result['backbone']})")
    print_parsing(result["parsing"], result["found"])
    print_retrieval(result["retrieval"])
    s = result["speed"]
    print(f"\n4. speed (median per photo, load average {result['load_average']:.1f} on {os.cpu_count()} cores): "
          f"parse {s['parse_ms']:.0f} ms (target < {TARGETS['parse_ms']:g} ms: "
          f"{verdict(s['parse_ms'] < TARGETS['parse_ms'])}), backbone embedding {s['embed_ms']:.0f} ms, "
          f"parse / embed = {s['parse_vs_embed']:.2f}")


def print_parsing(p: dict, f: dict) -> None:
    """Sections 1 and 2: IoU per category and the means; the labelled regions found."""
    print("\n1. parsing: IoU per category at each photo's resolution (confusion summed over the photos)")
    print("   " + "  ".join(f"{c} {v:.3f}" for c, v in p["iou"].items()))
    print(f"   mIoU main garments {p['miou_main']:.3f} (target >= {TARGETS['miou_main']}: "
          f"{verdict(p['miou_main'] >= TARGETS['miou_main'])}); all garment classes {p['miou_garments']:.3f}")
    print(f"\n2. garments found (IoU >= {FOUND_IOU} with the labelled region): {f['found']} of {f['regions']} = "
          f"{f['found_share']:.1%} (target >= {TARGETS['found_share']:.0%}: "
          f"{verdict(f['found_share'] >= TARGETS['found_share'])})")
    print("   " + "  ".join(f"{c} {v['found_share']:.0%} of {v['regions']}" for c, v in f["per_category"].items()))


def print_retrieval(r: dict) -> None:
    """Section 3: recall per query method and the crop / whole-photo ratio."""
    print(f"\n3. retrieval: rank of the worn item among the {SPLIT} items of its category, {r['queries']} queries")
    print(f"   {'query':28s}{'R@1':>7s}{'R@10':>7s}   R@10 per category")
    for method in METHODS:
        m = r[method]
        cats = "  ".join(f"{c} {v:.2f}" for c, v in m["per_category_recall@10"].items())
        print(f"   {METHOD_NAMES[method]:28s}{m['recall@1']:7.3f}{m['recall@10']:7.3f}   {cats}")
    ratio, target = r["crop_vs_whole_at_10"], TARGETS["crop_vs_whole_at_10"]
    shown = "-" if ratio is None else f"{ratio:.2f}"
    print(f"   crop@10 / whole@10 = {shown} (target >= {target:g}: {verdict(ratio is not None and ratio >= target)})")


def main() -> None:
    """Measure the test photos against a temporary catalogue and print the report (or the JSON object)."""
    args = parse_args()
    photos = StreetPhotos(args.street_photos)
    table = class_table(photos.label_categories)
    items, worn = outfit_items(PolyvoreOutfits(args.street_outfits / "polyvore_outfits"))
    counts = {c: sum(item.category == c for item in items) for c in {item.category for item in items}}
    test = photos.photos(SPLIT)[: args.limit]
    parser = GarmentParser(args.weights)
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = build_catalog(items, Path(tmp) / "store")
        warm_up(test[0], parser, catalog.backbone)
        for n, photo in enumerate(test, 1):
            measure_photo(photo, table, parser, catalog, counts, worn.get(photo.number, []), tally)
            if n % 20 == 0:
                print(f"{n} of {len(test)} photos", file=sys.stderr)
        backbone = catalog.backbone.name
    result = {"photos": len(test), "weights": str(args.weights or shipped_parser_path().name),
              "weights_meta": parser.meta, "runtime": parser.runtime, "backbone": backbone,
              "catalogue_items": len(items), "load_average": round(os.getloadavg()[0], 2),
              "parsing": parsing_numbers(tally), "found": found_numbers(tally),
              "retrieval": retrieval_numbers(tally), "speed": speed_numbers(tally), "targets": TARGETS}
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)


if __name__ == "__main__":
    main()
