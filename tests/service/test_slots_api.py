"""Outfit slots through the API, on a shop whose category names are not slot names (dress, t-shirt, pants, jeans,
shoes, bag): rows keyed by slot, verdicts and clashes, the slot mapping, and the default model."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient

from outfitter.compat.checkpoint import shipped_model_path
from outfitter.service import create_app
from tests.service.conftest import SHOP, VERDICTS

SLOT_OF = {"dress": "all-body", "t-shirt": "tops", "pants": "bottoms", "jeans": "bottoms", "shoes": "shoes",
           "bag": "bags"}
ROWS = {"dress": ["shoes", "bags"], "t-shirt": ["bottoms", "shoes", "bags"], "pants": ["tops", "shoes", "bags"],
        "jeans": ["tops", "shoes", "bags"], "shoes": ["bottoms", "tops", "all-body", "bags"],
        "bag": ["shoes", "bottoms", "tops", "all-body"]}


def _upload(path, name="photo.jpg"):
    return {"image": (name, path.read_bytes(), "image/jpeg")}


def _complements(client, k=4, **request):
    response = client.post(f"/complementary?k={k}", **request)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("category", SHOP)
def test_rows_are_the_slots_worn_with_the_item_never_its_own(shop_client, category):
    body = _complements(shop_client, json={"item_ids": [f"{category}/{category}0"]})
    assert body["query_slots"] == [SLOT_OF[category]]
    assert list(body["results"]) == ROWS[category] and SLOT_OF[category] not in body["results"]
    for slot, hits in body["results"].items():
        assert hits and all(SLOT_OF[h["category"]] == slot for h in hits)
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_a_row_ranks_every_category_of_its_slot_together(shop_client):
    bottoms = _complements(shop_client, json={"item_ids": ["t-shirt/t-shirt0"]})["results"]["bottoms"]
    assert len(bottoms) == 4 and {h["category"] for h in bottoms} == {"pants", "jeans"}


def test_a_dress_gets_shoes_and_bags_never_tops_bottoms_or_a_dress(shop_client):
    results = _complements(shop_client, json={"item_ids": ["dress/dress1"]})["results"]
    assert list(results) == ["shoes", "bags"]
    assert {h["category"] for h in results["bags"]} == {"bag"}


def test_a_photo_says_what_it_looks_like(shop_client, shop_photos):
    body = _complements(shop_client, files=_upload(shop_photos["dress/dress0"]))
    assert body["query_slots"] == ["all-body"] and list(body["results"]) == ["shoes", "bags"]
    mixed = _complements(shop_client, files=_upload(shop_photos["pants/pants1"]), data={"item_ids": "t-shirt/t-shirt1"})
    assert mixed["query_slots"] == ["tops", "bottoms"] and list(mixed["results"]) == ["shoes", "bags"]


def test_asked_categories_are_the_rows(shop_client):
    query = {"item_ids": ["dress/dress0"], "categories": ["jeans", "bag"]}
    results = _complements(shop_client, k=2, json=query)["results"]
    assert list(results) == ["jeans", "bag"]
    assert all(len(hits) == 2 and {h["category"] for h in hits} == {row} for row, hits in results.items())


@pytest.mark.parametrize("categories", [["bottoms"], ["bag", "scarf"]])
def test_an_unknown_category_is_422_naming_it_and_the_known_ones(shop_client, categories):
    response = shop_client.post("/complementary", json={"item_ids": ["dress/dress0"], "categories": categories})
    detail = response.json()["detail"]
    assert response.status_code == 422 and f"unknown category {categories[-1]!r}" in detail
    assert all(c in detail for c in SHOP)


@pytest.mark.parametrize("items", [["pants/pants0", "pants/pants1"], ["pants/pants0", "jeans/jeans1"],
                                   ["dress/dress0", "jeans/jeans0"]])
def test_two_items_that_cannot_be_worn_together_clash(shop_client, items):
    body = shop_client.post("/outfit-score", json={"item_ids": items}).json()
    assert body["verdict"] == "clashes" and body["clashes"] == [{"a": items[0], "b": items[1]}]
    assert body["score"] == 0.0 and body["pairs"] == [{"a": items[0], "b": items[1], "score": 0.0}]
    assert body["query_slots"] == [SLOT_OF[i.split("/")[0]] for i in items]


def test_a_clash_counts_zero_in_a_larger_outfit(shop_client, shop_photos):
    files = [("image", ("a.jpg", shop_photos["jeans/jeans0"].read_bytes(), "image/jpeg"))]
    data = {"item_ids": ["t-shirt/t-shirt0", "pants/pants1"]}
    body = shop_client.post("/outfit-score", files=files, data=data).json()
    assert body["verdict"] == "clashes" and body["clashes"] == [{"a": "pants/pants1", "b": "image 1"}]
    assert body["query_slots"] == ["tops", "bottoms", "bottoms"]
    assert body["score"] == pytest.approx(sum(p["score"] for p in body["pairs"]) / 3, abs=1e-5)


def test_an_outfit_without_clashes_gets_the_verdict_of_its_score(shop_client):
    body = shop_client.post("/outfit-score", json={"item_ids": ["t-shirt/t-shirt0", "pants/pants0", "shoes/shoes1",
                                                                "bag/bag0"]}).json()
    assert body["clashes"] == [] and len(body["pairs"]) == 6
    expected = "goes well" if body["score"] >= VERDICTS["goes well"] else (
        "so-so" if body["score"] >= VERDICTS["so-so"] else "clashes")
    assert body["verdict"] == expected


@pytest.mark.parametrize("as_file", [False, True])
def test_the_shops_slot_mapping_decides_the_rows(shop_store, model, tmp_path, as_file):
    mapping = {"t-shirt": "outerwear"}  # say the shop's t-shirts are worn over things
    slots = tmp_path / "slots.json" if as_file else mapping
    if as_file:
        slots.write_text(json.dumps(mapping))
    with TestClient(create_app(shop_store, model=model, slots=slots)) as client:
        body = _complements(client, json={"item_ids": ["dress/dress0"]})
        assert list(body["results"]) == ["shoes", "bags", "outerwear"]
        assert {h["category"] for h in body["results"]["outerwear"]} == {"t-shirt"}
        assert _complements(client, json={"item_ids": ["t-shirt/t-shirt0"]})["query_slots"] == ["outerwear"]


def test_without_a_model_the_shipped_one_is_used(store, model, monkeypatch):
    monkeypatch.setattr("outfitter.recommend.shipped_model_path", lambda: model)
    app = create_app(store)
    assert app.state.settings.model is None and app.state.catalog.model_path == model
    with TestClient(app) as client:
        assert client.get("/health").json()["has_model"] is True
        assert list(_complements(client, json={"item_ids": ["tops/tops0"]})["results"]) == ["bottoms", "shoes"]


def test_the_shipped_model_serves_a_shop(shop_store, shop_photos, tmp_path):
    if not shipped_model_path().is_file():
        pytest.skip(f"{shipped_model_path()} is not built yet (tools/make_default_compat.py)")
    copy = shutil.copytree(shop_store, tmp_path / "store")  # the model stores its features in the store
    with TestClient(create_app(copy)) as client:
        body = _complements(client, json={"item_ids": ["dress/dress0"]})
        assert body["query_slots"] == ["all-body"] and body["results"]
        assert not {"all-body", "tops", "bottoms"} & set(body["results"])
        score = client.post("/outfit-score", json={"item_ids": ["pants/pants0", "jeans/jeans0"]}).json()
        assert score["verdict"] == "clashes" and score["clashes"]
