"""Two small drawn catalogues, a random compatibility model that knows outfit slots, and apps served in-process.

`store`: 3 categories named like slots (tops, bottoms, shoes) x 4 photos. `shop_store`: a shop's own names
(dress, t-shirt, pants, jeans, shoes, bag) x 2 photos, which map to the slots all-body, tops, bottoms (twice),
shoes and bags. The model's slot rules are learned from the outfits below, its slot predictor is fitted on both
catalogues' vectors, and its verdict thresholds are VERDICTS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from outfitter.catalog.store import CatalogStore
from outfitter.compat import CompatibilityMLP, save_checkpoint
from outfitter.compat.slot_predictor import SlotPredictor
from outfitter.compat.slots import OutfitSlots, slot_for_name
from outfitter.pipeline.indexing import index_items
from outfitter.service import create_app
from outfitter.types import Item
from tests.drawing import COLOURS, SHAPES, draw_item
from tests.slot_outfits import OUTFITS

API_KEY = "s3cret-key"
VERDICTS = {"goes well": 0.55, "so-so": 0.45}
SHOP = ("dress", "t-shirt", "pants", "jeans", "shoes", "bag")
# Outerwear and jewellery have no category in the test catalogues, so they never make a row.


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Item id (`category/name`) -> its drawn photo."""
    root = tmp_path_factory.mktemp("photos")
    found = {}
    for c, shape in enumerate(SHAPES):
        for i, colour in enumerate([*COLOURS.values(), (120, 120, 120)]):
            path = root / f"{shape}{i}.jpg"
            draw_item(shape, colour, seed=10 * c + i).save(path)
            found[f"{shape}/{shape}{i}"] = path
    return found


@pytest.fixture(scope="session")
def shop_photos(tmp_path_factory) -> dict[str, Path]:
    """Item id (`category/name`) -> its drawn photo, two per shop category."""
    root = tmp_path_factory.mktemp("shop-photos")
    found = {}
    colours = list(COLOURS.values())
    for c, kind in enumerate(SHOP):
        pair = [(40, 60, 200), (30, 40, 110)] if kind == "jeans" else [colours[c % 3], colours[(c + 1) % 3]]
        for i, colour in enumerate(pair):
            path = root / f"{kind}{i}.jpg"
            _draw_garment(kind, colour, seed=100 + 10 * c + i).save(path)
            found[f"{kind}/{kind}{i}"] = path
    return found


def _draw_garment(kind: str, colour: tuple[int, int, int], seed: int, size: int = 64) -> Image.Image:
    """A shop item: the shared test shapes for tops, bottoms and shoes; a dress and a bag drawn here."""
    shape = {"t-shirt": "tops", "pants": "bottoms", "jeans": "bottoms", "shoes": "shoes"}.get(kind)
    if shape:
        return draw_item(shape, colour, seed, size)
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in 235 + rng.integers(-10, 10, 3)))
    draw = ImageDraw.Draw(img)
    fill = tuple(int(c) for c in np.clip(np.array(colour) + rng.integers(-20, 20, 3), 0, 255))
    if kind == "dress":
        draw.polygon([(25, 4), (39, 4), (56, 60), (8, 60)], fill=fill)
    else:
        draw.arc((22, 10, 42, 34), 180, 360, fill=fill, width=3)
        draw.rectangle((14, 22, 50, 52), fill=fill)
    return img


def _index(photos: dict[str, Path], root: Path) -> Path:
    items = [Item(item_id, str(path), item_id.split("/")[0]) for item_id, path in photos.items()]
    index_items(items, root, workers=0, progress=False)
    return root


@pytest.fixture(scope="session")
def store(photos, tmp_path_factory) -> Path:
    """The photos indexed with the default backbone."""
    return _index(photos, tmp_path_factory.mktemp("store") / "store")


@pytest.fixture(scope="session")
def shop_store(shop_photos, tmp_path_factory) -> Path:
    """The shop's photos indexed with the default backbone."""
    return _index(shop_photos, tmp_path_factory.mktemp("shop") / "store")


@pytest.fixture(scope="session")
def model(store, shop_store, tmp_path_factory) -> Path:
    """A random CompatibilityMLP over the stores' vectors, with learned slots, a slot predictor and verdicts."""
    stores = [CatalogStore.open(store), CatalogStore.open(shop_store)]
    backbone, width = stores[0].backbone, stores[0].dim
    vectors = np.concatenate([np.asarray(s.vectors(), dtype=np.float32) for s in stores])
    slots = [slot_for_name(s.get(i).category) for s in stores for i in s.all_ids().tolist()]
    torch.manual_seed(0)
    mlp = CompatibilityMLP(width, hidden_dim=32, backbone=backbone)
    meta = {"slots": OutfitSlots.learn(OUTFITS).to_dict(), "verdicts": VERDICTS,
            "slot_predictor": SlotPredictor.fit(backbone, vectors, slots).to_dict()}
    return save_checkpoint(mlp, tmp_path_factory.mktemp("model") / "mlp.pt", meta)


def _client(store: Path, **options) -> Iterator[TestClient]:
    with TestClient(create_app(store, **options)) as client:
        yield client


@pytest.fixture(scope="session")
def client(store, model) -> Iterator[TestClient]:
    """The full service: similar and complementary items, no key, default limits."""
    yield from _client(store, model=model)


@pytest.fixture(scope="session")
def shop_client(shop_store, model) -> Iterator[TestClient]:
    """The service over the shop's catalogue, whose category names differ from the slots."""
    yield from _client(shop_store, model=model)


@pytest.fixture(scope="session")
def keyed_client(store, model) -> Iterator[TestClient]:
    """A service that wants API_KEY."""
    yield from _client(store, model=model, api_key=API_KEY)


@pytest.fixture(scope="session")
def small_client(store, model) -> Iterator[TestClient]:
    """A service taking bodies up to 64 KiB and images up to 100k pixels."""
    yield from _client(store, model=model, max_upload_bytes=64 * 1024, max_pixels=100_000)
