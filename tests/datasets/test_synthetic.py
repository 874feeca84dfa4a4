"""Synthetic datasets: written in the real formats, read back by the readers, compatible by a colour rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from outfitter.datasets import MarylandPolyvore, PolyvoreOutfits, write_synthetic_maryland, write_synthetic_polyvore
from outfitter.datasets.synthetic import STYLES
from outfitter.errors import InputError


@pytest.fixture(scope="module")
def polyvore(tmp_path_factory: pytest.TempPathFactory) -> PolyvoreOutfits:
    return PolyvoreOutfits(write_synthetic_polyvore(tmp_path_factory.mktemp("synthetic") / "polyvore_outfits"))


def styles_of(dataset: PolyvoreOutfits) -> dict[str, str]:
    """Item id -> style, which the writer records as the first word of each item's description."""
    metadata = json.loads((dataset.root / "polyvore_item_metadata.json").read_text())
    return {item_id: record["description"].split()[0] for item_id, record in metadata.items()}


def test_every_file_of_the_real_format_is_written(polyvore: PolyvoreOutfits) -> None:
    names = {path.relative_to(polyvore.root).as_posix() for path in polyvore.root.rglob("*") if path.is_file()}
    for split in ("train", "valid", "test"):
        assert {f"nondisjoint/{split}.json", f"nondisjoint/compatibility_{split}.txt",
                f"nondisjoint/fill_in_blank_{split}.json"} <= names
    assert {"polyvore_item_metadata.json", "categories.csv", "polyvore_outfit_titles.json"} <= names
    record = next(iter(json.loads((polyvore.root / "polyvore_item_metadata.json").read_text()).values()))
    assert set(record) == {"semantic_category", "category_id", "title", "description", "url_name", "catgeories",
                           "related"}


def test_round_trip_through_the_reader(polyvore: PolyvoreOutfits) -> None:
    outfits = {split: polyvore.outfits(split) for split in ("train", "valid", "test")}

    assert [len(o) for o in outfits.values()] == [60, 20, 20]
    assert all(3 <= len(outfit.item_ids) <= 4 for split in outfits.values() for outfit in split)
    assert len(polyvore.items()) == sum(len(o.item_ids) for split in outfits.values() for o in split)
    assert {item.category for item in polyvore.items()} == {"tops", "bottoms", "shoes", "bags", "hats"}
    assert all(item.attributes["fine_category"] for item in polyvore.items("test"))


def test_compatibility_follows_the_style_rule(polyvore: PolyvoreOutfits) -> None:
    style = styles_of(polyvore)
    category = {item.item_id: item.category for item in polyvore.items("test")}

    questions = polyvore.compatibility("test")

    assert [label for label, _ in questions] == [1, 0] * 20
    for label, item_ids in questions:
        assert (len({style[i] for i in item_ids}) == 1) == (label == 1)
        assert len({category[i] for i in item_ids}) == len(item_ids)


def test_fitb_correct_answer_comes_from_the_question_outfit(polyvore: PolyvoreOutfits) -> None:
    style = styles_of(polyvore)
    outfit_of = {i: o.item_ids for o in polyvore.outfits("valid") for i in o.item_ids}
    category = {item.item_id: item.category for item in polyvore.items("valid")}

    questions = polyvore.fitb("valid")

    assert len(questions) == 20 and {q.correct for q in questions} != {0}
    for q in questions:
        right = q.answers[q.correct]
        assert set(q.question) | {right} == set(outfit_of[q.question[0]])
        assert outfit_of[right].index(right) + 1 == q.blank_position
        wrong = [a for i, a in enumerate(q.answers) if i != q.correct]
        assert all(style[a] != style[right] for a in wrong)
        assert all(category[a] == category[right] for a in wrong)


def test_photos_are_jpegs_painted_in_their_style_palette(polyvore: PolyvoreOutfits) -> None:
    style = styles_of(polyvore)
    for item in polyvore.items("test")[:12]:
        with Image.open(item.path) as image:
            assert image.format == "JPEG" and image.size == (32, 32)
            pixels = np.asarray(image.convert("RGB"), dtype=float).reshape(-1, 3)
        shape = pixels[pixels.mean(axis=1) < 200].mean(axis=0)
        nearest = min(STYLES, key=lambda s: min(np.abs(shape - np.array(c)).sum() for c in STYLES[s]))
        assert nearest == style[item.item_id]


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    small = {"n_outfits": (4, 2, 2), "image_size": 16}
    a = write_synthetic_polyvore(tmp_path / "a", seed=3, **small)
    b = write_synthetic_polyvore(tmp_path / "b", seed=3, **small)
    c = write_synthetic_polyvore(tmp_path / "c", seed=4, **small)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())

    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / "nondisjoint" / "train.json").read_bytes() != (c / "nondisjoint" / "train.json").read_bytes()


def test_disjoint_version_and_tiny_splits(tmp_path: Path) -> None:
    root = write_synthetic_polyvore(tmp_path, n_outfits=(2, 2, 2), items_per_outfit=(3, 3), version="disjoint")
    dataset = PolyvoreOutfits(root, version="disjoint")
    assert len(dataset.fitb("test")) == 2 and len(dataset.compatibility("test")) == 4


def test_sizes_that_cannot_follow_the_rule_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least 2"):
        write_synthetic_polyvore(tmp_path, n_outfits=(10, 1, 1))
    with pytest.raises(InputError, match="items_per_outfit"):
        write_synthetic_polyvore(tmp_path, items_per_outfit=(2, 6))


def test_maryland_round_trip(tmp_path: Path) -> None:
    dataset = MarylandPolyvore(write_synthetic_maryland(tmp_path))

    assert [len(dataset.outfits(s)) for s in ("train", "valid", "test")] == [8, 4, 6]
    assert all(Path(item.path).is_file() for item in dataset.items())
    for q in dataset.fitb():
        right = q.answers[q.correct]
        assert right.split("_")[0] == q.question[0].split("_")[0]
        assert all(a.split("_")[0] != right.split("_")[0] for a in q.answers[1:])
    assert [label for label, _ in dataset.compatibility()] == [1, 0] * 6
