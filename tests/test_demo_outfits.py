"""Rule-made demo outfits: they keep the rule, and round-trip through the Polyvore Outfits reader."""

from __future__ import annotations

from outfitter.datasets import PolyvoreOutfits
from outfitter.datasets.polyvore_export import write_polyvore
from outfitter.demo_outfits import NEUTRAL, TOPS, demo_splits, harmonious, make_outfits
from outfitter.types import Item
from tests.drawing import draw_item

CATS = {"t-shirt": "tops", "shirt": "tops", "longsleeve": "tops", "outwear": "tops", "dress": "tops",
        "pants": "bottoms", "shorts": "bottoms", "skirt": "bottoms", "shoes": "shoes", "hat": "shoes"}
PALETTE = [(200, 30, 30), (210, 150, 30), (40, 190, 40), (40, 200, 200), (40, 60, 200), (160, 40, 200), (30, 30, 30), (240, 240, 240)]


def catalogue(tmp_path) -> list[Item]:
    items = []
    for cat, shape in CATS.items():
        for n, colour in enumerate(PALETTE):
            path = tmp_path / f"{cat}{n}.jpg"
            img = draw_item(shape, colour, seed=n)
            img.paste(colour, (16, 16, 48, 48))
            img.save(path)
            items.append(Item(f"{cat}{n}", str(path), cat))
    return items


def test_harmony_rule():
    assert harmonious([0, 1, NEUTRAL]) and harmonious([5, 0]) and harmonious([NEUTRAL, NEUTRAL])
    assert not harmonious([0, 3]) and not harmonious([1, 2, 3])


def test_outfits_keep_shape_and_colour_rules(tmp_path):
    items = catalogue(tmp_path)
    outfits, tones = make_outfits(items, count=50)
    assert len(outfits) > 30
    for outfit in outfits:
        cats = [items[i].category for i in outfit]
        assert "shoes" in cats and len(set(cats)) == len(cats)
        assert ("dress" in cats) != any(c in TOPS for c in cats)
        assert harmonious([tones[i] for i in outfit])


def test_export_reads_back_in_polyvore_format(tmp_path):
    items = catalogue(tmp_path)
    root = write_polyvore(tmp_path / "pv", items, demo_splits(items, count=300))
    dataset = PolyvoreOutfits(root)
    assert {it.item_id for it in dataset.items()} == {it.item_id for it in items}
    test = dataset.fitb("test")
    assert test and all(q.correct == 0 and len(q.answers) == 4 for q in test)
    labels = [label for label, _ in dataset.compatibility("train")]
    assert 0 in labels and 1 in labels
