"""Similar-item quality: category precision@1/5/10, leave-one-out, no category filter, on clothing-small.

Every setting embeds the same photos through outfitter's own pipeline (a real catalogue store) and is
measured on photos no tuning ever saw (the dataset's test split by default). Ratios are against the
baseline measured in the same run: frozen EfficientNet-Lite0 with a centre crop. Each backbone is measured twice:
ranked by the plain cosine, and as `Catalog.similar` ranks by default, each query expanded by its nearest items
(`search.expansion`; `--expansion 0` leaves that row out).

    python benchmarks/similar_quality.py [--split test|all] [--backbones ...] [--json]
    python benchmarks/similar_quality.py --held-out-kinds hat outwear skirt --backbones efficientnet_lite0 FILE.pt

`--held-out-kinds` measures kinds a backbone was not tuned on (pass one tuned without them:
`tools/make_shipped_backbone.py --hold-out-kinds hat outwear skirt --out FILE.pt`). The queries are the photos of
those kinds, and the gallery is them plus the split's photos of the other kinds, so a held-out photo can also be
lost among the tuned kinds. With `--held-out-photos all` (the default) every photo of those kinds is queried,
whatever its split (none was tuned on); with `--held-out-photos split` only the split's own, so the held-out
kinds are as rare in the gallery as in the split (the stricter reading: in clothing-small's test split, 62 of
372 photos).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from outfitter.backbones import Backbone, create_backbone
from outfitter.catalog import CatalogStore
from outfitter.config import QUERY_EXPANSION
from outfitter.errors import WeightsNotFoundError
from outfitter.pipeline import embed_into_store
from outfitter.search import ExactIndex, ExpandedIndex, category_precision_at_k
from outfitter.types import Item

DATA = Path(__file__).resolve().parents[2] / "shared/data/clothing-small"
BASELINE = "efficientnet_lite0 (center crop)"


def settings(names: list[str]) -> dict[str, Backbone]:
    """Backbones to compare, by label; ones without weights on this machine are left out with a note."""
    out = {}
    for name in names:
        try:
            backbone = create_backbone(name)
        except WeightsNotFoundError as exc:
            print(f"skipping {name}: {str(exc).split('.')[0]}")
            continue
        out[f"{name} ({backbone.preprocess.resize_mode.replace('_', ' ')})"] = backbone
        if name == "efficientnet_lite0":
            squash = replace(backbone.spec, preprocess=replace(backbone.preprocess, resize_mode="squash"))
            out["efficientnet_lite0 (224x224 squash, the original's)"] = Backbone(squash, backbone.model)
    return out


def load_items(split: str, held_out: list[str] | None = None) -> list[Item]:
    """Photos of `split` and every photo of the `held_out` kinds, whatever its split."""
    held_out = held_out or []
    with open(DATA / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if split == "all" or r["split"] == split or r["label"] in held_out]
    return [Item(r["path"], str(DATA / r["path"]), r["label"]) for r in rows]


def query_precision_at_k(vectors: np.ndarray, labels: list[str], queries: np.ndarray,
                         ks: tuple[int, ...] = (1, 5, 10)) -> dict[int, float]:
    """Leave-one-out category precision@K of the `queries` rows among all rows (cosine)."""
    from outfitter.search import topk_rows

    labels_ = np.asarray(labels)
    scores = vectors[queries] @ vectors.T
    scores[np.arange(len(queries)), queries] = -np.inf
    same = labels_[topk_rows(scores, max(ks))] == labels_[queries, None]
    return {k: float(same[:, :k].mean()) for k in ks}


def expanded_precision_at_k(store: CatalogStore, vectors: np.ndarray, labels: list[str], queries: np.ndarray,
                            neighbours: int, ks: tuple[int, ...] = (1, 5, 10)) -> dict[int, float]:
    """Leave-one-out category precision@K of the `queries` rows (of `vectors`, the store's rows), searched as
    `Catalog.similar` searches: each query expanded by its `neighbours` nearest items (itself excluded)."""
    ids = store.all_ids().tolist()
    label_of = dict(zip(ids, labels))
    index = ExpandedIndex(ExactIndex(store), neighbours=neighbours)
    same = []
    for s in range(0, len(queries), 256):
        rows = queries[s:s + 256]
        found = index.search(vectors[rows], max(ks), exclude=[{ids[r]} for r in rows])
        same += [[label_of[i] == labels[r] for i, _ in hits] for r, hits in zip(rows, found)]
    same = np.asarray(same)
    return {k: float(same[:, :k].mean()) for k in ks}


def embed(items: list[Item], backbone: Backbone, workdir: Path) -> tuple[CatalogStore, np.ndarray, list[str]]:
    """The store, its vectors and their labels through the real pipeline."""
    store = CatalogStore.create(workdir / f"store-{abs(hash(backbone.name + backbone.preprocess.resize_mode))}",
                                backbone=backbone.name, dim=backbone.dim)
    embed_into_store(items, store, backbone, progress=False)
    labels = {it.item_id: it.category for it in items}
    ids = store.all_ids().tolist()
    return store, np.asarray(store.vectors(), dtype=np.float32), [labels[i] for i in ids]


def flip_tta(items: list[Item], backbone: Backbone, vectors: np.ndarray) -> np.ndarray:
    """Mean of each photo's vector and its mirror image's, renormalised."""
    from outfitter.images import load_image

    mirrored = []
    for s in range(0, len(items), 32):
        batch = [load_image(it.path).transpose(Image.Transpose.FLIP_LEFT_RIGHT) for it in items[s:s + 32]]
        mirrored.append(backbone.embed_images(batch))
    both = vectors + np.concatenate(mirrored)
    return both / np.linalg.norm(both, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["test", "validation", "train", "all"])
    parser.add_argument("--backbones", nargs="+",
                        default=["efficientnet_lite0", "efficientnet_lite0_fashion", "resnet50"])
    parser.add_argument("--tta", action="store_true", help="Also measure mirror-image test-time augmentation.")
    parser.add_argument("--held-out-kinds", nargs="+", metavar="KIND",
                        help="Measure only queries of these kinds among them and the split.")
    parser.add_argument("--held-out-photos", choices=["all", "split"], default="all",
                        help="Query every photo of the held-out kinds, or only the split's own.")
    parser.add_argument("--expansion", type=int, default=QUERY_EXPANSION,
                        help="Neighbours each query is expanded by in the expanded rows (0: no expanded rows).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    items = load_items(args.split, args.held_out_kinds if args.held_out_photos == "all" else None)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, backbone in settings(args.backbones).items():
            store, vectors, labels = embed(items, backbone, Path(tmp))
            queries = (np.flatnonzero(np.isin(labels, args.held_out_kinds)) if args.held_out_kinds
                       else np.arange(len(labels)))
            results[label] = query_precision_at_k(vectors, labels, queries)
            if args.expansion:
                results[f"{label} + expansion {args.expansion}"] = expanded_precision_at_k(
                    store, vectors, labels, queries, args.expansion)
            if args.tta and not args.held_out_kinds:
                results[label + " + mirror TTA"] = category_precision_at_k(flip_tta(items, backbone, vectors), labels)
    base = results.get(BASELINE, {}).get(10)
    if args.held_out_kinds:
        which = "every photo" if args.held_out_photos == "all" else f"the {args.split} split's photos"
        print(f"held-out kinds {', '.join(args.held_out_kinds)}: {which} of them queried among them and the "
              f"{args.split} split ({len(items)} photos), leave-one-out, no category filter")
    else:
        print(f"category precision, leave-one-out, {len(items)} photos of the {args.split} split, no category filter")
    print(f"{'setting':58s} {'P@1':>6s} {'P@5':>6s} {'P@10':>6s} {'P@10 / baseline':>16s}")
    for label, p in results.items():
        ratio = f"{p[10] / base:.3f}" if base else "-"
        print(f"{label:58s} {p[1]:6.3f} {p[5]:6.3f} {p[10]:6.3f} {ratio:>16s}")
    if args.json:
        print(json.dumps({label: {f"p@{k}": round(v, 4) for k, v in p.items()} for label, p in results.items()}))


if __name__ == "__main__":
    main()
