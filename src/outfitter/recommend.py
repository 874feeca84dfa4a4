"""The facade users call: a catalogue that answers similar-item (and, with a model, complementary) queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from outfitter.backbones import Backbone, create_backbone
from outfitter.catalog.store import CatalogStore
from outfitter.errors import InputError
from outfitter.images import load_image
from outfitter.search.exact import ExactIndex
from outfitter.types import Hit

ImageInput = str | Path | bytes | Image.Image


class Catalog:
    """A store plus the backbone that made its vectors and an index over them: `Catalog.open(dir).similar(...)`."""

    def __init__(self, store: CatalogStore, *, backbone: Backbone | None = None, index=None, weights=None) -> None:
        self.store = store
        self._backbone = backbone
        self._weights = weights
        self.index = index or ExactIndex(store)

    @classmethod
    def open(cls, root: str | Path, *, weights: str | Path | None = None) -> "Catalog":
        """Open the store in `root`; the backbone is built on the first image query (with `weights` if given)."""
        return cls(CatalogStore.open(root), weights=weights)

    @property
    def backbone(self) -> Backbone:
        """The backbone the store was built with, created on first use."""
        if self._backbone is None:
            self._backbone = create_backbone(self.store.backbone, weights=self._weights)
        return self._backbone

    def __len__(self) -> int:
        return len(self.store)

    def embed_image(self, image: ImageInput) -> np.ndarray:
        """A photo (path, bytes or PIL image) as this catalogue's unit-norm vector."""
        img = image.convert("RGB") if isinstance(image, Image.Image) else load_image(image)
        return self.backbone.embed_images([img])[0]

    def similar(
        self,
        item_id: str | None = None,
        image: ImageInput | None = None,
        *,
        k: int = 10,
        category: str | None = None,
    ) -> list[Hit]:
        """Top-k most similar items to a catalogue item (itself excluded) or to a photo, optionally in one category."""
        if (item_id is None) == (image is None):
            raise InputError("give exactly one of item_id or image")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}", field="k")
        query = self.store.vector(item_id) if item_id is not None else self.embed_image(image)
        exclude = [{item_id}] if item_id is not None else None
        found = self.index.search(query[None], k, category=category, exclude=exclude)[0]
        return [self._hit(i, s) for i, s in found]

    def _hit(self, item_id: str, score: float) -> Hit:
        item = self.store.get(item_id)
        return Hit(item_id, round(float(score), 6), item.category, item.path)
