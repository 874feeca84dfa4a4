"""The facade users call: a catalogue that answers similar-item (and, with a model, complementary) queries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from outfitter.backbones import Backbone, create_backbone
from outfitter.catalog.store import CatalogStore
from outfitter.complements import Complements, OutfitScore
from outfitter.config import DECODE_SIDE
from outfitter.errors import InputError
from outfitter.images import load_image
from outfitter.search.select import open_index
from outfitter.types import Hit

ImageInput = str | Path | bytes | Image.Image


class Catalog:
    """A store plus the backbone that made its vectors and an index over them: `Catalog.open(dir).similar(...)`."""

    def __init__(self, store: CatalogStore, *, backbone: Backbone | None = None, index=None, weights=None,
                 model: str | Path | None = None) -> None:
        self.store = store
        self._backbone = backbone
        self._weights = weights
        self.index = index or open_index(store)
        self.model_path = Path(model) if model is not None else None
        self._complements: Complements | None = None

    @classmethod
    def open(cls, root: str | Path, *, model: str | Path | None = None, weights: str | Path | None = None) -> "Catalog":
        """Open the store in `root`, with a compatibility model checkpoint for complementary queries if given.

        The backbone is built on the first image query (with `weights` if given), the model's catalogue
        embeddings on the first complementary query.
        """
        if model is not None and not Path(model).is_file():
            raise InputError("compatibility model not found", path=model)
        return cls(CatalogStore.open(root), weights=weights, model=model)

    @property
    def has_model(self) -> bool:
        return self.model_path is not None

    @property
    def complements(self) -> Complements:
        """The compatibility model bound to this catalogue, loaded on first use."""
        if self.model_path is None:
            raise InputError("this catalogue has no compatibility model: open it with model=FILE (outfitter train makes one)")
        if self._complements is None:
            self._complements = Complements.load(self.store, self.model_path, backbone=self._backbone)
        return self._complements

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
        return self.backbone.embed_images([self._picture(image)])[0]

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

    def complementary(
        self,
        item_ids: Sequence[str] | None = None,
        images: Sequence[ImageInput] | None = None,
        *,
        categories: Sequence[str] | None = None,
        k: int = 5,
    ) -> dict[str, list[Hit]]:
        """Top-k items per category that go with a partial outfit (catalogue items and/or photos).

        Categories default to every catalogue category the query does not already cover (a photo's
        category is taken from its nearest catalogue neighbours).
        """
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}", field="k")
        item_ids, pictures = list(item_ids or []), [self._picture(im) for im in images or []]
        query = self.complements.query_embeddings(item_ids, pictures)
        if categories is None:
            covered = {self.store.get(i).category for i in item_ids} | {self._guess_category(p) for p in pictures}
            categories = [c for c in self.store.category_names if c not in covered]
        ranked = self.complements.rank(query, exclude=item_ids, categories=list(categories), k=k)
        return {cat: [self._hit(i, s) for i, s in found] for cat, found in ranked.items()}

    def score_outfit(self, item_ids: Sequence[str] | None = None, images: Sequence[ImageInput] | None = None) -> OutfitScore:
        """How well the items go together: mean pairwise compatibility probability, with every pair's score."""
        item_ids, images = list(item_ids or []), list(images or [])
        pictures = [self._picture(im) for im in images]
        query = self.complements.query_embeddings(item_ids, pictures)
        labels = item_ids + [_label(im, n) for n, im in enumerate(images, 1)]
        return self.complements.score(query, labels)

    def _picture(self, image: ImageInput) -> Image.Image:
        return image.convert("RGB") if isinstance(image, Image.Image) else load_image(image, at_least=DECODE_SIDE)

    def _guess_category(self, picture: Image.Image, votes: int = 5) -> str | None:
        """The most common category among a photo's nearest catalogue items."""
        cats = [h.category for h in self.similar(image=picture, k=votes)]
        return max(set(cats), key=cats.count) if cats else None

    def _hit(self, item_id: str, score: float) -> Hit:
        item = self.store.get(item_id)
        return Hit(item_id, round(float(score), 6), item.category, item.path)


def _label(image: ImageInput, number: int) -> str:
    """How a photo is named in pair scores: its file name, else `image N`."""
    return Path(image).name if isinstance(image, (str, Path)) else f"image {number}"
