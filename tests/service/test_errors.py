"""Every error code: 404 unknown items, 422 bad input and images, 413 big bodies, 415, 401; the server lives on."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from outfitter.errors import InputError, StoreError
from outfitter.service import create_app
from tests.service.conftest import API_KEY


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's shape)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = bytes(data[12:16]) + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def _jpeg(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("method, path, body, message", [
    ("post", "/similar", {"item_id": "nope"}, "unknown item id 'nope'"),
    ("post", "/complementary", {"item_ids": ["tops/tops0", "nope"]}, "unknown item id 'nope'"),
    ("post", "/outfit-score", {"item_ids": ["tops/tops0", "nope"]}, "unknown item id 'nope'"),
    ("get", "/items/nope", None, "unknown item id 'nope'"),
    ("get", "/items/nope/image", None, "unknown item id 'nope'"),
])
def test_unknown_items_are_404(client, method, path, body, message):
    response = client.request(method.upper(), path, json=body)
    assert response.status_code == 404 and response.json()["detail"] == message


@pytest.mark.parametrize("name, data, message", [
    ("notes.txt", b"just some text, not a photo", "not an image (text)"),
    ("doc.pdf", b"%PDF-1.4 ...", "not an image (a PDF document)"),
    ("empty.jpg", b"", "empty file"),
    ("cut.jpg", _jpeg((64, 64))[:300], "truncated"),
    ("bomb.png", _png_claiming(50_000, 50_000), "decompression bomb"),
    ("black.png", _png_claiming(6000, 6000), "36,000,000 pixels to decode, limit 25,000,000"),
])
def test_bad_uploads_are_422_with_a_message(client, name, data, message):
    for path in ("/similar", "/complementary", "/outfit-score"):
        response = client.post(path, files=[("image", (name, data)), ("image", (name, data))] if "outfit" in path
                               else {"image": (name, data)})
        assert response.status_code == 422, (path, response.text)
        assert message in response.json()["detail"] and name in response.json()["detail"]
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("path, request_args, message", [
    ("/similar", {"json": {}}, "give either an item_id"),
    ("/similar?k=0", {"json": {"item_id": "tops/tops0"}}, "k: Input should be greater than or equal to 1"),
    ("/similar?k=101", {"json": {"item_id": "tops/tops0"}}, "k: Input should be less than or equal to 100"),
    ("/similar?category=hats", {"json": {"item_id": "tops/tops0"}}, "unknown category 'hats'"),
    ("/similar", {"content": b"{not json", "headers": {"content-type": "application/json"}}, "JSON"),
    ("/similar", {"json": {"item_id": 3}}, "item_id: Input should be a valid string"),
    ("/similar", {"files": {"image": ("a.txt", b"x")}, "data": {"item_id": "tops/tops0"}}, "not both"),
    ("/similar", {"data": {"image": "text"}, "files": {"x": ("x", b"")}}, "must be a file upload"),
    ("/complementary", {"json": {"item_ids": []}}, "at least 1"),
    ("/complementary", {"json": {"item_ids": ["tops/tops0"], "categories": ["hats"]}}, "unknown category 'hats'"),
    ("/outfit-score", {"json": {"item_ids": ["tops/tops0"]}}, "at least 2"),
    ("/outfit-score", {"json": {"item_ids": ["tops/tops0"] * 21}}, "at most 20"),
    ("/items?category=hats", {}, "unknown category 'hats'"),
    ("/items?limit=0", {}, "limit: Input should be greater than or equal to 1"),
])
def test_bad_requests_are_422_with_one_line(client, path, request_args, message):
    method = "GET" if path.startswith("/items") else "POST"
    response = client.request(method, path, **request_args)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"] and "\n" not in response.json()["detail"]


def test_other_body_types_are_415(client):
    response = client.post("/similar", content=b"item_id=x", headers={"content-type": "text/plain"})
    assert response.status_code == 415 and "multipart/form-data" in response.json()["detail"]


def test_a_body_over_the_limit_is_413(small_client, photos):
    response = small_client.post("/similar", files={"image": ("big.jpg", b"\xff" * 100_000)})
    assert response.status_code == 413 and "65,536 bytes" in response.json()["detail"]
    ok = small_client.post("/similar", files={"image": ("ok.jpg", photos["tops/tops0"].read_bytes())})
    assert ok.status_code == 200


def test_an_image_over_the_pixel_limit_is_422(small_client):
    response = small_client.post("/similar", files={"image": ("wide.jpg", _jpeg((400, 400)))})
    assert response.status_code == 422 and "possibly a decompression bomb" in response.json()["detail"]


@pytest.mark.parametrize("method, path", [
    ("POST", "/similar"), ("POST", "/complementary"), ("POST", "/outfit-score"),
    ("GET", "/items"), ("GET", "/items/tops/tops0"), ("GET", "/items/tops/tops0/image"),
])
def test_api_calls_without_the_key_are_401(keyed_client, method, path):
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = keyed_client.request(method, path, json={"item_id": "tops/tops0"}, headers=headers)
        assert response.status_code == 401 and "API key" in response.json()["detail"]


@pytest.mark.parametrize("how", [
    {"headers": {"X-API-Key": API_KEY}},
    {"headers": {"Authorization": f"Bearer {API_KEY}"}},
    {"cookies": {"outfitter_key": API_KEY}},
])
def test_the_key_opens_the_api(keyed_client, how):
    keyed_client.cookies.clear()
    response = keyed_client.post("/similar", json={"item_id": "tops/tops0"}, **how)
    keyed_client.cookies.clear()
    assert response.status_code == 200, response.text


def test_page_docs_and_health_stay_public(keyed_client):
    for path in ("/", "/static/app.js", "/docs", "/openapi.json", "/health"):
        assert keyed_client.get(path).status_code == 200, path
    assert keyed_client.get("/health").json()["auth"] is True


def test_a_missing_store_model_or_slot_mapping_fails_at_creation(store, model, tmp_path, monkeypatch):
    with pytest.raises(StoreError, match="no catalogue store"):
        create_app(tmp_path / "nowhere")
    with pytest.raises(InputError, match="compatibility model not found"):
        create_app(store, model=tmp_path / "none.pt")
    with pytest.raises(InputError, match="slot mapping file not found"):
        create_app(store, model=model, slots=tmp_path / "none.json")
    (tmp_path / "slots.csv").write_text("category,slot\ntops,tops\nbottoms,trousers\n")
    with pytest.raises(InputError, match="unknown slot 'trousers'") as error:
        create_app(store, model=model, slots=tmp_path / "slots.csv")
    assert error.value.line == 3
    monkeypatch.setattr("outfitter.recommend.shipped_model_path", lambda: tmp_path / "garment_street.pt")
    with pytest.raises(InputError, match="compatibility model not found") as error:
        create_app(store)
    assert error.value.path == str(tmp_path / "garment_street.pt")


def test_too_many_images_are_refused(client, photos):
    data = photos["tops/tops0"].read_bytes()
    response = client.post("/outfit-score", files=[("image", (f"{n}.jpg", data)) for n in range(9)])
    assert response.status_code == 400 and "Maximum number of files is 8" in response.json()["detail"]
