"""JSON shapes of the API: request bodies and responses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from outfitter.types import Hit, Item

if TYPE_CHECKING:  # the look's module loads the garment parser's imports (torch)
    from outfitter.look import Look


class SimilarQuery(BaseModel):
    """Items like a catalogue item (JSON), or like an uploaded `image` (multipart)."""

    item_id: str | None = Field(None, description="A catalogue item id; or send a multipart `image` instead.")


class ComplementaryQuery(BaseModel):
    """Items that go with catalogue items and/or uploaded `image`s: one row per outfit slot, or per asked category."""

    item_ids: list[str] = Field(default_factory=list, description="Catalogue items already in the outfit.")
    categories: list[str] | None = Field(
        None, description="Catalogue categories to fill, one row each; default: one row per outfit slot worn with "
                          "the query.")


class OutfitQuery(BaseModel):
    """An outfit to score: catalogue items and/or uploaded `image`s, two or more in all."""

    item_ids: list[str] = Field(default_factory=list, description="Catalogue items in the outfit.")


class HitOut(BaseModel):
    """One result: the item, its score, its category and where to fetch its photo."""

    id: str
    score: float = Field(description="Cosine similarity (similar items) or compatibility probability (complements).")
    match: str | None = Field(None, description="Similar items: the score in words for this catalogue (very "
                                                "similar / similar / loosely related); null for complements.")
    category: str | None
    image_url: str
    attributes: dict[str, Any] = Field(default_factory=dict, description="The item's other catalogue columns "
                                                                          "(name, price, url, ...).")


class SimilarResponse(BaseModel):
    hits: list[HitOut]


QUERY_SLOTS = ("The outfit slot of each query item, then of each uploaded photo (predicted from the photo), "
               "in order; null when unknown.")


class ComplementaryResponse(BaseModel):
    results: dict[str, list[HitOut]] = Field(
        description="Outfit slot (shoes, bags, outerwear, ...) -> its top-k items, best first, ranked across all the "
                    "catalogue's categories of that slot (each hit names its own category). Slots come in the order "
                    "people most often wear them with the query, and never repeat or clash with a query item's slot. "
                    "Given `categories`: asked category -> its top-k items instead.")
    query_slots: list[str | None] = Field(description=QUERY_SLOTS)


class LookQuery(BaseModel):
    """Shop the look: one uploaded `image` (multipart), a photo of a person or of one product; no other fields."""


class GarmentOut(BaseModel):
    """One garment found in the photo, and the catalogue's items most like it."""

    category: str | None = Field(description="Its kind, an outfit slot (tops, bottoms, shoes, bags, all-body, "
                                             "outerwear, hats, ...); for a product shot the slot predicted from "
                                             "the photo, null when unknown.")
    box: list[int] = Field(min_length=4, max_length=4,
                           description="[x0, y0, x1, y1) around it, in the uploaded photo's own pixels (EXIF "
                                       "orientation applied); the whole photo for a product shot.")
    confidence: float = Field(description="How sure the garment parser is, 0..1 (1 for a product shot).")
    similar: list[HitOut] = Field(description="Its top-k similar items among the catalogue categories of its kind, "
                                              "best first; for a product shot exactly /similar's for the photo.")


class LookResponse(BaseModel):
    garments: list[GarmentOut] = Field(description="Every garment found, largest first; one covering the whole "
                                                   "photo when it is a product shot.")
    complementary: dict[str, list[HitOut]] = Field(
        description="Outfit slot the photo does not show -> its top `complements_k` items that go with all the "
                    "garments found, best first; never a slot a garment already fills.")
    product_shot: bool = Field(description="True when the photo shows no person (one product): then there is one "
                                           "garment, searched as /similar searches a photo.")
    size: list[int] = Field(min_length=2, max_length=2, description="The photo's [width, height] in pixels: the "
                                                                    "space of the boxes.")


class PairOut(BaseModel):
    a: str
    b: str
    score: float


class ClashOut(BaseModel):
    """Two items whose slots cannot be worn together: two of one single slot (two pairs of trousers), or
    exclusive slots (a dress and trousers)."""

    a: str
    b: str


class OutfitScoreResponse(BaseModel):
    score: float = Field(description="Mean pairwise compatibility probability, 0..1; a clashing pair counts 0.")
    verdict: Literal["goes well", "so-so", "clashes"] | None = Field(
        description="The score in words, from thresholds calibrated on real outfits; always `clashes` when a pair "
                    "clashes; null for a model without calibrated thresholds.")
    pairs: list[PairOut] = Field(description="Every pair's probability (items first, then photos as `image N`).")
    clashes: list[ClashOut] = Field(description="Pairs that cannot be worn together.")
    query_slots: list[str | None] = Field(description=QUERY_SLOTS)


class ItemOut(BaseModel):
    id: str
    category: str | None
    image_url: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class ItemPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ItemOut]


class Health(BaseModel):
    """Liveness; the rest only for callers with the API key when the server has one."""

    status: str
    auth: bool = Field(description="Whether API calls need a key.")
    items: int | None = None
    categories: list[str] | None = None
    backbone: str | None = None
    has_model: bool | None = Field(None, description="Whether complements are available (always, with the given or "
                                                     "shipped model).")
    max_upload_bytes: int | None = None


class ErrorOut(BaseModel):
    detail: str


def image_url(root_path: str, item_id: str) -> str:
    """The path of an item's photo under this app."""
    return f"{root_path}/item/image?id={quote(item_id, safe='')}"


def hit_out(hit: Hit, root_path: str) -> HitOut:
    return HitOut(id=hit.item_id, score=hit.score, match=hit.match, category=hit.category,
                  image_url=image_url(root_path, hit.item_id), attributes=hit.attributes)


def look_out(look: Look, root_path: str) -> LookResponse:
    """A found look as the API sends it: every hit linked to its photo under this app."""
    garments = [GarmentOut(category=g.category, box=list(g.box), confidence=g.confidence,
                           similar=[hit_out(h, root_path) for h in g.similar]) for g in look.garments]
    rows = {slot: [hit_out(h, root_path) for h in hits] for slot, hits in look.complementary.items()}
    return LookResponse(garments=garments, complementary=rows, product_shot=look.product_shot, size=list(look.size))


def item_out(item: Item, root_path: str) -> ItemOut:
    return ItemOut(id=item.item_id, category=item.category, image_url=image_url(root_path, item.item_id),
                   attributes=item.attributes)
