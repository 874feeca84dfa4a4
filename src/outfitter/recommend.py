"""The facade users call: a catalogue that answers similar-item (and, with a model, complementary) queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from outfitter.backbones import Backbone, create_backbone
from outfitter.catalog.store import CatalogStore
from outfitter.compat.checkpoint import shipped_model_path
from outfitter.compat.slots import read_slot_mapping
from outfitter.compat.complements import Complements, OutfitScore
from outfitter.config import DECODE_SIDE, QUERY_EXPANSION
from outfitter.errors import InputError
from outfitter.images import load_image, photo_size
from outfitter.look import Look, LookGarment, is_product_shot, search_in_slot
from outfitter.parsing.net import CANVAS
from outfitter.parsing.parser import GarmentParser
from outfitter.search.base import Index
from outfitter.search.expansion import ExpandedIndex
from outfitter.search.select import open_index
from outfitter.search.strength import MatchScale
from outfitter.types import Hit

ImageInput = str | Path | bytes | Image.Image
STORE_SLOTS = "slots.json"  # a store's own category -> slot mapping, used when none is given


class Catalog:
    """A store plus the backbone that made its vectors and an index over them: `Catalog.open(dir).similar(...)`."""

    def __init__(self, store: CatalogStore, *, backbone: Backbone | None = None, index: Index | None = None,
                 weights: str | Path | None = None,
                 model: str | Path | None = None, slots: str | Path | Mapping[str, str] | None = None,
                 progress: bool = True, scale: MatchScale | None = None, parser: GarmentParser | None = None,
                 expansion: int = QUERY_EXPANSION) -> None:
        self.store = store
        self._parser = parser
        self._backbone = backbone
        self._weights = weights
        self._expansion = expansion
        self.cosine_index = index or open_index(store)
        self.index = (ExpandedIndex(self.cosine_index, neighbours=expansion) if expansion
                      else self.cosine_index)  # what ranks similar items; cosine_index what scores them
        self.model_path = Path(model) if model is not None else shipped_model_path()
        self._slot_mapping = _slot_mapping(store, slots)
        self._progress = progress
        self._complements: Complements | None = None
        self._scale = scale

    @classmethod
    def open(cls, root: str | Path, *, model: str | Path | None = None, weights: str | Path | None = None,
             slots: str | Path | Mapping[str, str] | None = None, progress: bool = True,
             expansion: int = QUERY_EXPANSION) -> "Catalog":
        """Open the store in `root` with a compatibility model (default: the shipped one) for complementary queries.

        `slots` maps the shop's categories to outfit slots (a dict, or a JSON/CSV file; default: the store's
        `slots.json` if any, then the category names, then the categories' photos). The backbone is built on
        the first image query (with `weights` if given), the model's catalogue embeddings on the first
        complementary query. Similar searches expand each query by its `expansion` nearest items (see
        `search.expansion`); 0 ranks by the plain cosine.
        """
        if model is not None and not Path(model).is_file():
            raise InputError("compatibility model not found", path=model)
        if expansion < 0:
            raise InputError(f"expansion must be 0 or more, got {expansion}", field="expansion")
        return cls(CatalogStore.open(root), weights=weights, model=model, slots=slots, progress=progress,
                   expansion=expansion)

    def refreshed(self) -> "Catalog":
        """This catalogue on the store's newest snapshot (itself when nothing changed), with the same model, slots
        and backbone; the model's catalogue embeddings are redone on its first complementary query."""
        if self.store.is_current():
            return self
        return Catalog(CatalogStore.open(self.store.root), backbone=self._backbone, weights=self._weights,
                       model=self.model_path, slots=self._slot_mapping, progress=self._progress, scale=self._scale,
                       parser=self._parser, expansion=self._expansion)

    @property
    def has_model(self) -> bool:
        return self.model_path is not None

    @property
    def complements(self) -> Complements:
        """The compatibility model bound to this catalogue, loaded on first use."""
        if self._complements is None:
            self._complements = Complements.load(self.store, self.model_path, backbone=self._backbone,
                                                 slot_mapping=self._slot_mapping, progress=self._progress)
        return self._complements

    @property
    def parser(self) -> GarmentParser:
        """The garment parser for `shop_the_look` (the shipped one unless given), built on first use."""
        if self._parser is None:
            self._parser = GarmentParser()
        return self._parser

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
        category = self._category(category) if category is not None else None
        query = self.store.vector(item_id) if item_id is not None else self.embed_image(image)
        exclude = [{item_id}] if item_id is not None else None
        return self.similar_hits(query, self.index.search(query[None], k, category=category, exclude=exclude)[0])

    def similar_hits(self, query: np.ndarray, found: list[tuple[str, float]]) -> list[Hit]:
        """Similar hits in the order the index ranked them, each scored by its plain cosine with `query` and
        labelled by the match scale (so a photo of a catalogue item scores 1.0 whatever the ranking)."""
        scale = self.match_scale
        scores = [float(query @ self.store.vector(item_id)) for item_id, _ in found]
        return [self.hit(i, s, scale.label(s) if scale else None) for (i, _), s in zip(found, scores)]

    @property
    def match_scale(self) -> MatchScale | None:
        """How this catalogue's similar scores read in words (measured on first use, kept while the catalogue
        stays within 10% of that size); None for a catalogue of fewer than 3 items."""
        if self._scale is None or not self._scale.fits(len(self.store)):
            self._scale = MatchScale.fit(self.cosine_index, self.store)
        return self._scale

    def complementary(
        self,
        item_ids: Sequence[str] | None = None,
        images: Sequence[ImageInput] | None = None,
        *,
        categories: Sequence[str] | None = None,
        k: int = 5,
        query_slots: Sequence[str | None] | None = None,
    ) -> dict[str, list[Hit]]:
        """Top-k items that go with a partial outfit (catalogue items and/or photos), one row per outfit slot.

        Rows are the slots worn with every query item, most worn first (a dress gets shoes, bags, outerwear...,
        never trousers or another dress); each ranks all catalogue categories of that slot. A photo's slot is
        predicted from the photo, unless `query_slots` (from `query_slots()`, items first) are given: then no
        photo is embedded twice. Given `categories`, there is one row per asked category instead.
        """
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}", field="k")
        item_ids, pictures = list(item_ids or []), [self._picture(im) for im in images or []]
        self._check_items(item_ids)
        categories = [self._category(c) for c in categories] if categories is not None else None
        complements = self.complements
        slots = self._slots(item_ids, pictures, query_slots)
        query = complements.query_embeddings(item_ids, pictures)
        covered = [self.store.get(i).category for i in item_ids]
        if complements.rules.slots is None:
            covered += [self._guess_category(p) for p in pictures]
        targets = complements.rules.targets(slots, covered, categories)
        ranked = complements.rank(query, exclude=item_ids, targets=targets, k=k)
        return {row: [self.hit(i, s) for i, s in found] for row, found in ranked.items()}

    def shop_the_look(self, image: ImageInput, *, k: int = 10, complements_k: int = 5) -> Look:
        """Every garment found in a photo of a person, with the top-k similar items of each among the catalogue
        categories of its kind, and the top `complements_k` items per outfit slot the photo does not show, scored
        against all the garments found. A product shot (no person) is one garment whose similar items are
        exactly `similar(image=...)`'s; boxes are in the photo's own pixels."""
        if k < 1 or complements_k < 1:
            raise InputError(f"k and complements_k must be at least 1, got {k} and {complements_k}", field="k")
        size = image.size if isinstance(image, Image.Image) else photo_size(image)
        picture = self._picture(image, at_least=CANVAS[1])
        parsed = self.parser.parse(picture, size)
        if is_product_shot(parsed):
            return self._product_shot(image, picture, size, k, complements_k)
        crops = [g.crop(picture) for g in parsed.garments]  # made as street-outfits' items are
        slots = [g.category for g in parsed.garments]
        similar = search_in_slot(self, self.backbone.embed_images(crops), slots, k)
        complementary = self.complementary(images=crops, query_slots=slots, k=complements_k)
        garments = [LookGarment(g.category, g.box, g.confidence, crop, hits)
                    for g, crop, hits in zip(parsed.garments, crops, similar)]
        return Look(garments, complementary, False, size)

    def _product_shot(self, image: ImageInput, picture: Image.Image, size: tuple[int, int], k: int,
                      complements_k: int) -> Look:
        """One garment, the whole photo: today's similar search, and complements for its predicted slot."""
        slots = self.complements.photo_slots([picture])
        similar = self.similar(image=image, k=k)
        complementary = self.complementary(images=[picture], query_slots=slots, k=complements_k)
        garment = LookGarment(slots[0], (0, 0, *size), 1.0, picture, similar)
        return Look([garment], complementary, True, size)

    def query_slots(self, item_ids: Sequence[str] = (), images: Sequence[ImageInput] = ()) -> list[str | None]:
        """The outfit slot of each catalogue item (from its category) and each photo (predicted)."""
        return self._slots(list(item_ids), [self._picture(im) for im in images])

    def score_outfit(self, item_ids: Sequence[str] | None = None, images: Sequence[ImageInput] | None = None,
                     query_slots: Sequence[str | None] | None = None) -> OutfitScore:
        """How well the items go together: mean pairwise probability (a clashing pair, such as two pairs of
        trousers, counts 0), every pair's score, and a verdict (goes well / so-so / clashes). `query_slots` as
        for `complementary`."""
        item_ids, images = list(item_ids or []), list(images or [])
        self._check_items(item_ids)
        pictures = [self._picture(im) for im in images]
        slots = self._slots(item_ids, pictures, query_slots)
        query = self.complements.query_embeddings(item_ids, pictures)
        labels = item_ids + [_label(im, n) for n, im in enumerate(images, 1)]
        return self.complements.score(query, labels, slots)

    def _slots(self, item_ids: list[str], pictures: list[Image.Image],
               given: Sequence[str | None] | None = None) -> list[str | None]:
        """The query's slots, items first: the given ones (one per item and photo), else from categories and photos."""
        if given is None:
            return self.complements.item_slots(item_ids) + self.complements.photo_slots(pictures)
        if len(given) != len(item_ids) + len(pictures):
            raise InputError(f"{len(given)} query slots for {len(item_ids) + len(pictures)} items and photos",
                             field="query_slots")
        return list(given)

    def _category(self, category: str) -> str:
        """The catalogue's spelling of a category (case does not matter); unknown ones refused, listing the known."""
        name = self.store.category_name(category)
        if name is None:
            raise InputError(f"unknown category {category!r}; the catalogue has: "
                             f"{', '.join(sorted(self.store.category_names))}", field="categories")
        return name

    def _check_items(self, item_ids: Sequence[str]) -> None:
        """Refuse unknown item ids before any long work (binding a model embeds the whole catalogue)."""
        unknown = [i for i in item_ids if i not in self.store]
        if unknown:
            raise InputError(f"unknown item id {unknown[0]!r} in store {self.store.root}", field="item_ids")

    def _picture(self, image: ImageInput, at_least: int = DECODE_SIDE) -> Image.Image:
        return image.convert("RGB") if isinstance(image, Image.Image) else load_image(image, at_least=at_least)

    def _guess_category(self, picture: Image.Image, votes: int = 5) -> str | None:
        """The most common category among a photo's nearest catalogue items."""
        cats = [h.category for h in self.similar(image=picture, k=votes)]
        return max(set(cats), key=cats.count) if cats else None

    def hit(self, item_id: str, score: float, match: str | None = None) -> Hit:
        """A result row for a catalogue item: its score, category, photo and attributes."""
        item = self.store.get(item_id)
        return Hit(item_id, round(float(score), 6), item.category, item.path, item.attributes, match)


def _slot_mapping(store: CatalogStore, slots: str | Path | Mapping[str, str] | None) -> dict[str, str] | None:
    """The user's category -> slot mapping: the one given, else the store's own slots.json, else None."""
    if slots is None and (store.root / STORE_SLOTS).is_file():
        slots = store.root / STORE_SLOTS
    return read_slot_mapping(slots) if isinstance(slots, (str, Path)) else (dict(slots) if slots else None)


def _label(image: ImageInput, number: int) -> str:
    """How a photo is named in pair scores: its file name, else `image N`."""
    return Path(image).name if isinstance(image, (str, Path)) else f"image {number}"
