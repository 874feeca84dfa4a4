"""Shop the look: garments found in a photo of a person, each searched in its own kind; product shots as today."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from outfitter import Catalog
from outfitter.cli import app
from outfitter.compat.slots import slot_for_name
from outfitter.datasets import read_manifest
from outfitter.demo.run import demo_data
from outfitter.errors import InputError
from outfitter.pipeline.indexing import index_items

PERSON = Path(__file__).parent / "data" / "street" / "person.jpg"
PER_CATEGORY = 4


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The first few demo catalogue items of each category (photos of single garments), indexed."""
    items = read_manifest(demo_data() / "catalog.csv")
    by_category: dict[str, list] = {}
    for item in items:
        by_category.setdefault(item.category, []).append(item)
    chosen = [item for group in by_category.values() for item in islice(group, PER_CATEGORY)]
    root = tmp_path_factory.mktemp("look") / "store"
    index_items(chosen, root, workers=0, progress=False)
    return root


@pytest.fixture(scope="module")
def catalog(store: Path) -> Catalog:
    return Catalog.open(store, progress=False)


def test_a_photo_of_a_person_gives_each_garment_with_items_of_its_kind(catalog: Catalog) -> None:
    look = catalog.shop_the_look(PERSON, k=3, complements_k=2)
    assert not look.product_shot and look.size == Image.open(PERSON).size
    kinds = [g.category for g in look.garments]
    assert {"tops", "bottoms", "shoes"} <= set(kinds) and len(kinds) == len(set(kinds))
    for garment in look.garments:
        assert all(slot_for_name(hit.category) == garment.category for hit in garment.similar)
    searched = {g.category: g for g in look.garments}
    assert len(searched["bottoms"].similar) == 3 and len(searched["shoes"].similar) == 3
    assert searched.get("bags") is None or searched["bags"].similar == []  # the demo shop sells no bags
    assert look.complementary and not set(look.complementary) & set(kinds)
    assert all(len(hits) == 2 for hits in look.complementary.values())


def test_each_garment_is_searched_with_its_crop_in_the_categories_of_its_kind(catalog: Catalog) -> None:
    look = catalog.shop_the_look(PERSON, k=2)
    bottoms = next(g for g in look.garments if g.category == "bottoms")
    by_category = [catalog.similar(image=bottoms.crop, k=2, category=c) for c in ("pants", "shorts", "skirt")]
    best = sorted((h for hits in by_category for h in hits), key=lambda h: -h.score)[:2]
    assert [h.item_id for h in bottoms.similar] == [h.item_id for h in best]
    assert [h.score for h in bottoms.similar] == pytest.approx([h.score for h in best], abs=1e-5)


def test_product_shots_behave_exactly_as_similar_search(catalog: Catalog) -> None:
    for query in read_manifest(demo_data() / "queries.csv"):
        look = catalog.shop_the_look(query.path, k=10)
        assert look.product_shot, query.path
        (garment,) = look.garments
        assert garment.box == (0, 0, *Image.open(query.path).size)
        assert garment.similar == catalog.similar(image=query.path, k=10)


def test_bad_arguments_are_refused(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="k"):
        catalog.shop_the_look(PERSON, k=0)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(PERSON.read_bytes()[:500])
    with pytest.raises(InputError, match="broken.jpg"):
        catalog.shop_the_look(broken)


def test_the_command_prints_json_and_draws_a_sheet(store: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "look.png"
    result = CliRunner().invoke(app, ["look", "--store", str(store), "--image", str(PERSON), "--k", "2", "--json",
                                      "--sheet", str(sheet)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout.splitlines()[0])
    assert set(body) == {"garments", "complementary", "product_shot", "size"}
    garment = body["garments"][0]
    assert set(garment) == {"category", "box", "confidence", "similar"} and len(garment["box"]) == 4
    assert {"id", "score", "category"} <= set(garment["similar"][0])
    assert Image.open(sheet).width > 500


@pytest.fixture(scope="module")
def store_without_shoes(tmp_path_factory) -> Path:
    """A shop that sells no shoes: the demo catalogue's first few items of every other category."""
    items = [item for item in read_manifest(demo_data() / "catalog.csv") if item.category != "shoes"]
    chosen = [item for category in {i.category for i in items}
              for item in islice((i for i in items if i.category == category), 2)]
    root = tmp_path_factory.mktemp("look-no-shoes") / "store"
    index_items(chosen, root, workers=0, progress=False)
    return root


def test_a_garment_the_shop_does_not_sell_says_so_everywhere(store_without_shoes: Path, tmp_path: Path) -> None:
    look = Catalog.open(store_without_shoes, progress=False).shop_the_look(PERSON, k=2)
    shoes = next(g for g in look.garments if g.category == "shoes")
    bottoms = next(g for g in look.garments if g.category == "bottoms")
    assert shoes.similar == [] and shoes.none_similar() == "this catalogue has no shoes"
    assert bottoms.similar and bottoms.none_similar() == ""
    result = CliRunner().invoke(app, ["look", "--store", str(store_without_shoes), "--image", str(PERSON), "--k", "2",
                                      "--sheet", str(tmp_path / "look.png")])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("shoes ("))
    assert line.endswith(f"at {list(shoes.box)}: this catalogue has no shoes")
    assert any(line.startswith("bottoms (") and line.endswith(": similar") for line in result.stdout.splitlines())
