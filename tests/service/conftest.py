"""A small drawn catalogue (3 categories x 4 photos), a random compatibility model, and apps served in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from outfitter.compat import CompatibilityMLP, save_checkpoint
from outfitter.indexing import index_items
from outfitter.service import create_app
from outfitter.types import Item
from tests.drawing import COLOURS, SHAPES, draw_item

API_KEY = "s3cret-key"


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
def store(photos, tmp_path_factory) -> Path:
    """The photos indexed with the default backbone."""
    items = [Item(item_id, str(path), item_id.split("/")[0]) for item_id, path in photos.items()]
    root = tmp_path_factory.mktemp("store") / "store"
    index_items(items, root, workers=0, progress=False)
    return root


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> Path:
    """A randomly initialised CompatibilityMLP over the store's vectors, saved as a checkpoint."""
    torch.manual_seed(0)
    mlp = CompatibilityMLP(1280, hidden_dim=32, backbone="efficientnet_lite0")
    return save_checkpoint(mlp, tmp_path_factory.mktemp("model") / "mlp.pt")


def _client(store: Path, **options) -> Iterator[TestClient]:
    with TestClient(create_app(store, **options)) as client:
        yield client


@pytest.fixture(scope="session")
def client(store, model) -> Iterator[TestClient]:
    """The full service: similar and complementary items, no key, default limits."""
    yield from _client(store, model=model)


@pytest.fixture(scope="session")
def bare_client(store) -> Iterator[TestClient]:
    """A service without a compatibility model."""
    yield from _client(store)


@pytest.fixture(scope="session")
def keyed_client(store) -> Iterator[TestClient]:
    """A service that wants API_KEY."""
    yield from _client(store, api_key=API_KEY)


@pytest.fixture(scope="session")
def small_client(store) -> Iterator[TestClient]:
    """A service taking bodies up to 64 KiB and images up to 100k pixels."""
    yield from _client(store, max_upload_bytes=64 * 1024, max_pixels=100_000)
