"""The facade: complementary items per category and outfit scores, for both compatibility models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter import Catalog
from outfitter.compat import CompatibilityMLP, PolaniaNet, save_checkpoint
from outfitter.datasets import read_folder
from outfitter.errors import InputError
from outfitter.pipeline.indexing import index_items


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from tests.drawing import COLOURS, draw_shop

    root = draw_shop(tmp_path_factory.mktemp("photos"), [*COLOURS.values(), (120, 120, 120)])
    index_items(read_folder(root), root / "store", workers=0, progress=False)
    return root / "store"


@pytest.fixture(scope="module", params=["mlp", "polania"])
def catalog(request, store, tmp_path_factory):
    torch.manual_seed(0)
    if request.param == "mlp":
        model = CompatibilityMLP(1280, hidden_dim=16, backbone="efficientnet_lite0")
    else:
        model = PolaniaNet("efficientnet_lite0", image_size=64)
    path = save_checkpoint(model, tmp_path_factory.mktemp("m") / f"{request.param}.pt")
    return Catalog.open(store, model=path)


def naive_scores(catalog: Catalog, query_ids: list[str], candidate: str) -> float:
    """Mean pairwise probability by scoring each (query, candidate) pair with the model directly."""
    complements = catalog.complements
    model = complements.model
    emb = lambda i: torch.from_numpy(complements.embeddings_of([i]))
    with torch.no_grad():
        return float(np.mean([model.score(emb(q), emb(candidate)).item() for q in query_ids]))


def test_complementary_ranks_other_categories_by_pairwise_score(catalog):
    found = catalog.complementary(item_ids=["tops/tops0"], k=3)
    assert set(found) == {"bottoms", "shoes"}
    for category, hits in found.items():
        assert len(hits) == 3 and all(h.category == category for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        for hit in hits:
            assert hit.score == pytest.approx(naive_scores(catalog, ["tops/tops0"], hit.item_id), abs=1e-5)


def test_named_categories_and_partial_outfits(catalog):
    found = catalog.complementary(item_ids=["tops/tops1", "bottoms/bottoms2"], categories=["shoes", "tops"], k=10)
    assert list(found) == ["shoes", "tops"]
    assert "tops/tops1" not in [h.item_id for h in found["tops"]] and len(found["tops"]) == 3
    best = found["shoes"][0]
    assert best.score == pytest.approx(naive_scores(catalog, ["tops/tops1", "bottoms/bottoms2"], best.item_id), abs=1e-5)


def test_a_photo_query_gets_its_category_guessed_and_left_out(catalog):
    photo = catalog.store.get("shoes/shoes1").path
    found = catalog.complementary(images=[photo], k=2)
    assert set(found) == {"tops", "bottoms"}


def test_outfit_score_is_the_mean_of_pair_scores(catalog):
    ids = ["tops/tops0", "bottoms/bottoms0", "shoes/shoes0"]
    result = catalog.score_outfit(item_ids=ids)
    assert [(a, b) for a, b, _ in result.pairs] == [(ids[0], ids[1]), (ids[0], ids[2]), (ids[1], ids[2])]
    assert result.score == pytest.approx(np.mean([p for _, _, p in result.pairs]), abs=1e-6)
    assert result.pairs[0][2] == pytest.approx(naive_scores(catalog, [ids[0]], ids[1]), abs=1e-5)


def test_photo_and_item_give_the_same_score(catalog):
    photo = catalog.store.get("bottoms/bottoms1").path
    by_photo = catalog.score_outfit(item_ids=["tops/tops2"], images=[photo]).score
    by_item = catalog.score_outfit(item_ids=["tops/tops2", "bottoms/bottoms1"]).score
    assert by_photo == pytest.approx(by_item, abs=1e-4)


def test_bad_requests_are_input_errors(catalog, store):
    with pytest.raises(InputError, match="unknown item id 'nope'"):
        catalog.complementary(item_ids=["nope"])
    with pytest.raises(InputError, match="at least two items"):
        catalog.score_outfit(item_ids=["tops/tops0"])
    with pytest.raises(InputError, match="compatibility model not found"):
        Catalog.open(store, model=store / "missing.pt")


SHOP = {"dress": "tops", "pants": "bottoms", "t-shirt": "tops", "sneakers": "shoes", "handbag": "shoes"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A shop catalogue with its own category names (drawn photos), indexed; the shipped model answers."""
    from tests.drawing import COLOURS, draw_item

    root = tmp_path_factory.mktemp("shop")
    for c, (category, shape) in enumerate(SHOP.items()):
        (root / category).mkdir()
        for i, colour in enumerate(COLOURS.values()):
            draw_item(shape, colour, seed=10 * c + i).save(root / category / f"{category}{i}.jpg")
    index_items(read_folder(root), root / "store", workers=0, progress=False)
    return root


def test_default_model_completes_a_dress_with_slots_that_go_with_it(shop):
    catalog = Catalog.open(shop / "store")
    found = catalog.complementary(item_ids=["dress/dress0"], k=2)
    assert set(found) <= {"shoes", "bags", "outerwear", "hats", "sunglasses", "accessories", "jewellery", "scarves"}
    assert set(found) == {"shoes", "bags"} and list(found)[0] == "shoes"  # shoes are worn with dresses most
    assert {h.category for h in found["shoes"]} <= {"sneakers"} and {h.category for h in found["bags"]} == {"handbag"}


def test_default_model_tells_a_photo_slot_and_asked_categories_are_rows(shop):
    catalog = Catalog.open(shop / "store")
    assert catalog.query_slots(["pants/pants1"]) == ["bottoms"]
    found = catalog.complementary(images=[shop / "t-shirt" / "t-shirt0.jpg"], categories=["pants"], k=3)
    assert list(found) == ["pants"] and len(found["pants"]) == 3


def test_two_pairs_of_trousers_clash_and_a_real_look_gets_a_verdict(shop):
    catalog = Catalog.open(shop / "store")
    clash = catalog.score_outfit(item_ids=["pants/pants0", "pants/pants1", "sneakers/sneakers0"])
    assert clash.verdict == "clashes" and clash.clashes == [("pants/pants0", "pants/pants1")]
    assert clash.pairs[0][2] == 0.0
    look = catalog.score_outfit(item_ids=["t-shirt/t-shirt0", "pants/pants0", "sneakers/sneakers0"])
    assert look.verdict in ("goes well", "so-so", "clashes") and not look.clashes


def test_unknown_ids_and_categories_are_refused_before_the_catalogue_is_embedded(shop):
    catalog = Catalog.open(shop / "store")
    with pytest.raises(InputError, match="unknown category 'Shoes'; the catalogue has: dress, handbag"):
        catalog.complementary(item_ids=["dress/dress0"], categories=["Shoes"])  # not a category here: a slot
    with pytest.raises(InputError, match="unknown item id 'nope'"):
        catalog.score_outfit(item_ids=["nope", "dress/dress0"])
    assert catalog._complements is None


def test_a_slot_mapping_file_overrides_names(shop, tmp_path):
    mapping = tmp_path / "slots.csv"
    mapping.write_text("category,slot\nhandbag,accessories\n")
    catalog = Catalog.open(shop / "store", slots=mapping)
    assert catalog.query_slots(["handbag/handbag0"]) == ["accessories"]
    assert "bags" not in catalog.complementary(item_ids=["dress/dress0"], k=1)


def test_a_category_whose_name_says_nothing_gets_the_slot_its_photos_show(tmp_path):
    """`zzz` photos are drawn like trousers; a slot predictor that knows the drawings votes it into bottoms."""
    from tests.drawing import COLOURS, draw_item

    from outfitter.compat import SlotPredictor, load_model, read_checkpoint
    from outfitter.compat.checkpoint import shipped_model_path

    shapes = {"t-shirt": "tops", "pants": "bottoms", "sneakers": "shoes", "zzz": "bottoms"}
    for c, (category, shape) in enumerate(shapes.items()):
        (tmp_path / category).mkdir()
        for i, colour in enumerate(COLOURS.values()):
            draw_item(shape, colour, seed=30 + 10 * c + i).save(tmp_path / category / f"{category}{i}.jpg")
    index_items(read_folder(tmp_path), tmp_path / "store", workers=0, progress=False)
    store = Catalog.open(tmp_path / "store").store
    named = [i for i in store.ids() if not i.startswith("zzz")]
    vectors = np.stack([store.vector(i) for i in named])
    predictor = SlotPredictor.fit(store.backbone, vectors, [shapes[i.split("/")[0]] for i in named])
    model, payload = load_model(shipped_model_path())
    meta = {**read_checkpoint(shipped_model_path())["meta"], "slot_predictor": predictor.to_dict()}
    own = save_checkpoint(model, tmp_path / "model.pt", meta)
    catalog = Catalog.open(tmp_path / "store", model=own)
    assert catalog.query_slots(["zzz/zzz0"]) == ["bottoms"]
    assert "bottoms" not in catalog.complementary(item_ids=["pants/pants0"], k=1)


def test_similar_matches_categories_ignoring_case_and_refuses_unknown_ones(shop):
    catalog = Catalog.open(shop / "store")
    assert [h.item_id for h in catalog.similar("pants/pants0", category="PANTS")] == \
        [h.item_id for h in catalog.similar("pants/pants0", category="pants")]
    with pytest.raises(InputError, match="unknown category 'hats'; the catalogue has: dress, handbag"):
        catalog.similar("pants/pants0", category="hats")
    assert set(catalog.complementary(item_ids=["dress/dress0"], categories=["Sneakers"], k=1)) == {"sneakers"}


def test_slots_worked_out_once_can_be_passed_back(shop):
    catalog = Catalog.open(shop / "store")
    photo = shop / "dress" / "dress1.jpg"
    slots = catalog.query_slots(["pants/pants0"], [photo])
    assert catalog.complementary(["pants/pants0"], [photo], k=2, query_slots=slots) == \
        catalog.complementary(["pants/pants0"], [photo], k=2)
    as_bottoms = catalog.complementary(images=[photo], k=1, query_slots=["bottoms"])
    assert "bottoms" not in as_bottoms and "shoes" in as_bottoms
    assert catalog.score_outfit(["pants/pants0", "pants/pants1"], query_slots=["bottoms", "tops"]).clashes == []
    with pytest.raises(InputError, match="1 query slots for 2 items and photos"):
        catalog.score_outfit(["pants/pants0", "pants/pants1"], query_slots=["bottoms"])


def test_with_the_default_model_a_photo_scores_like_its_catalogue_item(shop):
    catalog = Catalog.open(shop / "store")
    photo = shop / "pants" / "pants2.jpg"
    by_photo = catalog.score_outfit(["t-shirt/t-shirt0"], [photo], query_slots=["tops", "bottoms"]).score
    by_item = catalog.score_outfit(["t-shirt/t-shirt0", "pants/pants2"]).score
    assert by_photo == pytest.approx(by_item, abs=1e-5)
