"""A served store that another process changes: deletes and appends show from the next request, a compaction
never breaks a request, and under load nothing answers 5xx."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from outfitter.catalog.store import CatalogStore
from outfitter.pipeline.indexing import index_items
from outfitter.service import create_app, running
from outfitter.types import Item
from tests.drawing import draw_item


@pytest.fixture
def live_store(store, tmp_path) -> Path:
    """A private copy of the session's store, free to change."""
    return Path(shutil.copytree(store, tmp_path / "store"))


def add_photos(root: Path, store: Path, names: list[str]) -> None:
    """Index new drawn tops into `store`, as another process's `outfitter index` would."""
    items = []
    for n, name in enumerate(names):
        path = root / f"{name}.jpg"
        draw_item("tops", (30 * n % 255, 90, 160), seed=500 + n).save(path)
        items.append(Item(f"tops/{name}", str(path), "tops"))
    index_items(items, store, workers=0, progress=False)


def test_deletes_appends_and_a_compaction_show_from_the_next_request(live_store, model, tmp_path):
    with TestClient(create_app(live_store, model=model)) as client:
        first = client.get("/items").json()["items"][0]["id"]
        writer = CatalogStore.open(live_store)
        writer.delete([first])
        assert client.get(f"/items/{first}").status_code == 404
        add_photos(tmp_path, live_store, ["new0"])
        assert client.get("/items/tops/new0").json()["category"] == "tops"
        assert client.post("/similar", json={"item_id": "tops/new0"}).status_code == 200
        writer = CatalogStore.open(live_store)
        writer.compact()
        for path in ("/items", "/items/tops/new0", "/items/tops/new0/image", "/health"):
            assert client.get(path).status_code == 200, path
        found = client.post("/complementary", json={"item_ids": ["tops/new0"]}).json()
        assert found["results"] and first not in [h["id"] for hits in found["results"].values() for h in hits]


def test_no_5xx_under_load_while_the_store_changes(live_store, model, tmp_path):
    statuses: list[int] = []
    stop = threading.Event()

    def client_loop(url: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while not stop.is_set():
                ids = [i["id"] for i in http.get("/items").json()["items"]]
                statuses.append(http.get(f"/items/{ids[-1]}/image").status_code)
                statuses.append(http.post("/similar", json={"item_id": ids[0]}).status_code)

    with running(create_app(live_store, model=model)) as url:
        threads = [threading.Thread(target=client_loop, args=(url,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        try:
            writer = CatalogStore.open(live_store)
            for round_ in range(3):
                add_photos(tmp_path, live_store, [f"load{round_}"])
                writer = CatalogStore.open(live_store)
                writer.delete([writer.ids()[0]])
                writer.compact()
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    assert statuses and not [s for s in statuses if s >= 500]
    assert set(statuses) <= {200, 404}  # 404: an item deleted between listing it and asking for it


def test_any_id_is_reachable_by_query_parameter(live_store, model, tmp_path):
    odd = "tops/a b?c#d%/image"
    path = tmp_path / "odd.jpg"
    draw_item("tops", (10, 200, 10), seed=900).save(path)
    index_items([Item(odd, str(path), "tops")], live_store, workers=0, progress=False)
    with TestClient(create_app(live_store, model=model)) as client:
        item = client.get("/item", params={"id": odd}).json()
        assert item["id"] == odd
        photo = client.get(item["image_url"])
        assert photo.status_code == 200 and photo.headers["content-type"].startswith("image/")
        assert client.get("/item", params={"id": "tops/none"}).status_code == 404


def test_damaged_files_turn_answers_into_a_503_naming_the_file_until_restored(live_store, model):
    import time

    path = CatalogStore.open(live_store).segments[0].path("vectors.npy")
    original = path.read_bytes()

    def wait_for(status: int) -> None:
        deadline = time.monotonic() + 20
        while client.get("/health").status_code != status:
            assert time.monotonic() < deadline, f"/health never answered {status}"
            time.sleep(0.05)

    with TestClient(create_app(live_store, model=model, verify_interval_s=0.05)) as client:
        item = client.get("/items").json()["items"][0]["id"]
        assert client.post("/similar", json={"item_id": item}).status_code == 200
        flipped = bytearray(original)
        flipped[-3] ^= 0xFF  # well-formed, wrong: only the checksum can tell
        path.write_bytes(bytes(flipped))
        wait_for(503)
        answer = client.post("/similar", json={"item_id": item})
        assert answer.status_code == 503 and path.name in answer.json()["detail"]
        assert "outfitter check" in answer.json()["detail"]
        path.write_bytes(original)  # restored from a backup
        wait_for(200)
        assert client.post("/similar", json={"item_id": item}).status_code == 200
