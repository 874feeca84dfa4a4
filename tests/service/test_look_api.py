"""POST /look on the shop's drawn catalogue: a real photo of a person gives each garment similar items of its own kind
and complements for the slots it does not show; a product shot is /similar's search; bad uploads, limits and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from outfitter.compat.slots import slot_for_name

PERSON = Path(__file__).parents[1] / "data" / "street" / "person.jpg"  # 550 x 823: a top, trousers, shoes, a bag


def _upload(path: Path, name: str | None = None) -> dict:
    return {"image": (name or path.name, path.read_bytes(), "image/jpeg")}


@pytest.fixture(scope="module")
def person_look(shop_client) -> dict:
    """The look found in person.jpg, at most 3 similar items per garment and 2 per missing slot."""
    response = shop_client.post("/look?k=3&complements_k=2", files=_upload(PERSON))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_photo_of_a_person_shows_its_garments_where_they_are(person_look):
    width, height = person_look["size"]
    assert (width, height) == (550, 823) and person_look["product_shot"] is False
    assert len(person_look["garments"]) >= 2
    for garment in person_look["garments"]:
        x0, y0, x1, y1 = garment["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, garment
        assert 0 < garment["confidence"] <= 1


def test_each_garment_gets_similar_items_of_its_own_kind_only(person_look):
    garments = person_look["garments"]
    for garment in garments:
        assert len(garment["similar"]) <= 3
        assert {slot_for_name(hit["category"]) for hit in garment["similar"]} <= {garment["category"]}, garment
    assert any(garment["similar"] for garment in garments)  # the shop sells tops, bottoms, shoes and bags
    hit = next(hit for garment in garments for hit in garment["similar"])
    assert hit["image_url"] == f"/item/image?id={hit['id'].replace('/', '%2F')}" and hit["match"] is not None


def test_complements_fill_only_the_slots_the_photo_does_not_show(person_look):
    worn = {garment["category"] for garment in person_look["garments"]}
    assert not worn & set(person_look["complementary"])
    for slot, hits in person_look["complementary"].items():
        assert 1 <= len(hits) <= 2 and {slot_for_name(hit["category"]) for hit in hits} == {slot}


def test_a_product_shot_is_one_garment_searched_as_similar_searches_it(shop_client, shop_photos):
    photo = shop_photos["t-shirt/t-shirt0"]
    look = shop_client.post("/look?k=4", files=_upload(photo)).json()
    similar = shop_client.post("/similar?k=4", files=_upload(photo)).json()["hits"]
    assert look["product_shot"] is True and look["size"] == [64, 64]
    [garment] = look["garments"]
    assert garment["box"] == [0, 0, 64, 64] and garment["confidence"] == 1.0 and garment["category"] == "tops"
    assert [hit["id"] for hit in garment["similar"]] == [hit["id"] for hit in similar]
    assert look["complementary"] and "tops" not in look["complementary"]
    for slot, hits in look["complementary"].items():
        assert {slot_for_name(hit["category"]) for hit in hits} == {slot}


@pytest.mark.parametrize("request_args, status, message", [
    ({"files": {"image": ("notes.txt", b"just some text, not a photo")}}, 422, "notes.txt: not an image (text)"),
    ({"files": {"image": ("empty.jpg", b"")}}, 422, "empty.jpg: empty file"),
    ({"json": {}}, 422, "send one photo as a multipart `image` file, not 0"),
    ({"content": b"x", "headers": {"content-type": "text/plain"}}, 415, "multipart/form-data"),
])
def test_anything_but_one_photo_is_refused_saying_why(shop_client, request_args, status, message):
    response = shop_client.post("/look", **request_args)
    assert response.status_code == status and message in response.json()["detail"], response.text


def test_two_photos_are_refused(shop_client, shop_photos):
    files = [("image", (name, shop_photos[f"{name}/{name}0"].read_bytes())) for name in ("dress", "bag")]
    response = shop_client.post("/look", files=files)
    assert response.status_code == 422 and "not 2" in response.json()["detail"]


@pytest.mark.parametrize("query, message", [
    ("k=0", "k: Input should be greater than or equal to 1"),
    ("complements_k=101", "complements_k: Input should be less than or equal to 100"),
])
def test_counts_out_of_range_are_422(shop_client, shop_photos, query, message):
    response = shop_client.post(f"/look?{query}", files=_upload(shop_photos["bag/bag0"]))
    assert response.status_code == 422 and message in response.json()["detail"]


def test_a_photo_over_the_limits_is_refused(small_client):
    response = small_client.post("/look", files={"image": ("big.jpg", b"\xff" * 100_000)})
    assert response.status_code == 413 and "65,536 bytes" in response.json()["detail"]
    response = small_client.post("/look", files=_upload(PERSON, "wide.jpg"))  # 452,650 pixels, the limit 100,000
    assert response.status_code == 422 and "wide.jpg: too large" in response.json()["detail"]


def test_without_the_key_it_is_401(keyed_client):
    for headers in ({}, {"X-API-Key": "wrong"}):
        response = keyed_client.post("/look", files=_upload(PERSON), headers=headers)
        assert response.status_code == 401 and "API key" in response.json()["detail"]


def test_the_docs_describe_the_upload_and_every_field(shop_client):
    schema = shop_client.get("/openapi.json").json()
    post = schema["paths"]["/look"]["post"]
    assert list(post["requestBody"]["content"]) == ["multipart/form-data"]
    assert {p["name"] for p in post["parameters"]} == {"k", "complements_k"}
    models = schema["components"]["schemas"]
    for name in ("LookResponse", "GarmentOut"):
        assert all("description" in field for field in models[name]["properties"].values()), name
