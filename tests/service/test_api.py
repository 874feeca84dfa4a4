"""Every endpoint on a small drawn catalogue, in-process: similar, complementary, outfit score, items, health, docs."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.service.conftest import VERDICTS


def _upload(path, name="photo.jpg"):
    return {"image": (name, path.read_bytes(), "image/jpeg")}


def test_health_describes_the_catalogue(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["items"] == 12 and body["has_model"] is True
    assert sorted(body["categories"]) == ["bottoms", "shoes", "tops"] and body["auth"] is False


def test_similar_to_an_item_excludes_it_and_links_photos(client):
    hits = client.post("/similar?k=3", json={"item_id": "shoes/shoes0"}).json()["hits"]
    assert len(hits) == 3 and "shoes/shoes0" not in [h["id"] for h in hits]
    assert set(hits[0]) == {"id", "score", "match", "category", "image_url", "attributes"}
    assert {h["match"] for h in hits} <= {"very similar", "similar", "loosely related"}
    assert hits[0]["image_url"] == f"/item/image?id={quote(hits[0]['id'], safe='')}"
    assert client.get(hits[0]["image_url"]).status_code == 200
    assert all(-1.0 <= h["score"] <= 1.0 for h in hits)  # cosines; the order is the expanded query's


def test_similar_to_a_photo_finds_it_first(client, photos):
    hits = client.post("/similar?k=2", files=_upload(photos["tops/tops1"])).json()["hits"]
    assert hits[0]["id"] == "tops/tops1" and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert hits[0]["match"] == "very similar"


def test_similar_in_one_category(client, photos):
    hits = client.post("/similar?k=4&category=bottoms", files=_upload(photos["tops/tops0"])).json()["hits"]
    assert len(hits) == 4 and {h["category"] for h in hits} == {"bottoms"}


def test_complementary_fills_the_slots_worn_with_the_query(client):
    body = client.post("/complementary?k=2", json={"item_ids": ["tops/tops0"]}).json()
    assert list(body["results"]) == ["bottoms", "shoes"] and body["query_slots"] == ["tops"]
    assert all(len(hits) == 2 and {h["category"] for h in hits} == {c} for c, hits in body["results"].items())


def test_complementary_in_chosen_categories_from_a_photo(client, photos):
    response = client.post("/complementary?k=3", files=_upload(photos["tops/tops2"]), data={"categories": ["shoes"]})
    assert response.status_code == 200, response.text
    assert list(response.json()["results"]) == ["shoes"] and len(response.json()["results"]["shoes"]) == 3
    assert response.json()["query_slots"] == ["tops"]


def test_complementary_never_returns_the_query_items(client):
    query = ["tops/tops0", "shoes/shoes1"]
    results = client.post("/complementary?k=4", json={"item_ids": query, "categories": ["tops", "shoes"]}).json()
    assert not set(query) & {h["id"] for hits in results["results"].values() for h in hits}


def test_outfit_score_of_items(client):
    body = client.post("/outfit-score", json={"item_ids": ["tops/tops0", "bottoms/bottoms0", "shoes/shoes0"]}).json()
    assert 0.0 <= body["score"] <= 1.0 and len(body["pairs"]) == 3
    assert body["score"] == pytest.approx(sum(p["score"] for p in body["pairs"]) / 3, abs=1e-5)
    expected = "goes well" if body["score"] >= VERDICTS["goes well"] else (
        "so-so" if body["score"] >= VERDICTS["so-so"] else "clashes")
    assert body["verdict"] == expected and body["clashes"] == []
    assert body["query_slots"] == ["tops", "bottoms", "shoes"]


def test_outfit_score_of_photos_and_items(client, photos):
    files = [("image", ("a.jpg", photos["tops/tops0"].read_bytes(), "image/jpeg")),
             ("image", ("b.jpg", photos["bottoms/bottoms1"].read_bytes(), "image/jpeg"))]
    response = client.post("/outfit-score", files=files, data={"item_ids": "shoes/shoes2"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["pairs"]) == 3 and body["query_slots"] == ["shoes", "tops", "bottoms"]
    assert {(p["a"], p["b"]) for p in body["pairs"]} == {("shoes/shoes2", "image 1"), ("shoes/shoes2", "image 2"),
                                                         ("image 1", "image 2")}


def test_items_page_through_the_catalogue(client):
    first = client.get("/items?limit=5").json()
    rest = client.get("/items?offset=5&limit=50").json()
    assert first["total"] == rest["total"] == 12 and len(first["items"]) == 5 and len(rest["items"]) == 7
    assert len({i["id"] for i in first["items"] + rest["items"]}) == 12


def test_items_of_one_category(client):
    page = client.get("/items?category=shoes").json()
    assert page["total"] == 4 and {i["category"] for i in page["items"]} == {"shoes"}


def test_one_item_and_its_photo(client, photos):
    item = client.get("/items/bottoms/bottoms2").json()
    assert item["id"] == "bottoms/bottoms2" and item["category"] == "bottoms"
    photo = client.get(item["image_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == photos["bottoms/bottoms2"].read_bytes()


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "<title>outfitter</title>" in page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_docs_work_offline(client):
    docs = client.get("/docs").text
    assert "cdn." not in docs and "/static-offline-docs/swagger-ui-bundle.js" in docs
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/similar", "/complementary", "/outfit-score", "/items", "/health"} <= set(paths)
    assert "multipart/form-data" in paths["/similar"]["post"]["requestBody"]["content"]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"results", "query_slots"} <= set(schemas["ComplementaryResponse"]["properties"])
    assert {"score", "verdict", "pairs", "clashes"} <= set(schemas["OutfitScoreResponse"]["properties"])


def test_categories_match_ignoring_case(client):
    upper = client.get("/items", params={"category": "TOPS"}).json()["items"]
    assert upper and upper == client.get("/items", params={"category": "tops"}).json()["items"]
    first = upper[0]["id"]
    hits = client.post("/similar", params={"category": "Shoes"}, json={"item_id": first}).json()["hits"]
    assert hits and {h["category"] for h in hits} == {"shoes"}


def test_deeply_nested_json_is_a_422_not_a_crash(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/similar", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
