"""Similar-item quality: category precision@1/5/10, leave-one-out, no category filter, on clothing-small.

Every setting embeds the same photos through outfitter's own pipeline (a real catalogue store) and is
measured on photos no tuning ever saw (the dataset's test split by default). Ratios are against the
baseline measured in the same run: frozen EfficientNet-Lite0 with a centre crop.

    python benchmarks/similar_quality.py [--split test|all] [--backbones ...] [--json]
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
from outfitter.errors import WeightsNotFoundError
from outfitter.pipeline import embed_into_store
from outfitter.search import category_precision_at_k
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


def load_items(split: str) -> list[Item]:
    rows = [r for r in csv.DictReader(open(DATA / "manifest.csv")) if split == "all" or r["split"] == split]
    return [Item(r["path"], str(DATA / r["path"]), r["label"]) for r in rows]


def embed(items: list[Item], backbone: Backbone, workdir: Path) -> tuple[np.ndarray, list[str]]:
    """Vectors and labels through the real pipeline (a catalogue store)."""
    store = CatalogStore.create(workdir / f"store-{abs(hash(backbone.name + backbone.preprocess.resize_mode))}",
                                backbone=backbone.name, dim=backbone.dim)
    embed_into_store(items, store, backbone, progress=False)
    labels = {it.item_id: it.category for it in items}
    ids = store.all_ids().tolist()
    return np.asarray(store.vectors(), dtype=np.float32), [labels[i] for i in ids]


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    items = load_items(args.split)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, backbone in settings(args.backbones).items():
            vectors, labels = embed(items, backbone, Path(tmp))
            results[label] = category_precision_at_k(vectors, labels)
            if args.tta:
                results[label + " + mirror TTA"] = category_precision_at_k(flip_tta(items, backbone, vectors), labels)
    base = results.get(BASELINE, {}).get(10)
    print(f"category precision, leave-one-out, {len(items)} photos of the {args.split} split, no category filter")
    print(f"{'setting':58s} {'P@1':>6s} {'P@5':>6s} {'P@10':>6s} {'P@10 / baseline':>16s}")
    for label, p in results.items():
        ratio = f"{p[10] / base:.3f}" if base else "-"
        print(f"{label:58s} {p[1]:6.3f} {p[5]:6.3f} {p[10]:6.3f} {ratio:>16s}")
    if args.json:
        print(json.dumps({label: {f"p@{k}": round(v, 4) for k, v in p.items()} for label, p in results.items()}))


if __name__ == "__main__":
    main()
