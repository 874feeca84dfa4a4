"""The API: similar and complementary items, shop the look, outfit scores, and the catalogue the page browses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.responses import FileResponse
from PIL import Image

from outfitter.catalog.store import CatalogStore
from outfitter.compat.complements import OutfitScore
from outfitter.config import DECODE_SIDE
from outfitter.images import load_image
from outfitter.look import Look
from outfitter.parsing.net import CANVAS
from outfitter.recommend import Catalog
from outfitter.service.bodies import IMAGE_FIELD, MULTIPART, Upload, read_query
from outfitter.service.deps import (
    KEY_HEADER,
    CatalogDep,
    Settings,
    key_accepted,
    require_api_key,
    require_categories,
    require_items,
    run_cpu,
)
from outfitter.service.schemas import (
    ComplementaryQuery,
    ComplementaryResponse,
    ErrorOut,
    Health,
    ItemOut,
    ItemPage,
    LookQuery,
    LookResponse,
    OutfitQuery,
    OutfitScoreResponse,
    SimilarQuery,
    SimilarResponse,
    hit_out,
    item_out,
    look_out,
)
from outfitter.service.settings import ServiceSettings
from outfitter.types import Hit

MAX_K = 100
_ERRORS = {code: {"model": ErrorOut} for code in (400, 401, 404, 413, 415, 422)}

public = APIRouter(tags=["service"])
recommend = APIRouter(tags=["recommend"], dependencies=[Depends(require_api_key)], responses=_ERRORS)
catalogue = APIRouter(tags=["catalogue"], dependencies=[Depends(require_api_key)], responses=_ERRORS)

K = Annotated[int, Query(ge=1, le=MAX_K, description="Results to return (per row for complements).")]
GarmentK = Annotated[int, Query(ge=1, le=MAX_K, description="Similar items per garment.")]
SlotK = Annotated[int, Query(ge=1, le=MAX_K, description="Items per outfit slot that completes the look.")]
LOOK_BODY = {"requestBody": {"required": True, "content": {MULTIPART: {"schema": {
    "type": "object", "required": [IMAGE_FIELD], "properties": {IMAGE_FIELD: {
        "type": "string", "format": "binary", "description": "One photo: a person wearing an outfit, or a product."}},
}}}}}


def _body_doc(model: type, images: str) -> dict:
    """OpenAPI for a body that is either the model as JSON or a multipart form of `image` files and the same fields."""
    form = model.model_json_schema()
    form["properties"][IMAGE_FIELD] = {"type": "array", "items": {"type": "string", "format": "binary"},
                                       "description": images}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()},
                                                         MULTIPART: {"schema": form}}}}


@public.get("/health", response_model=Health, response_model_exclude_none=True)
def health(request: Request, catalog: CatalogDep, settings: Settings,
           header: Annotated[str | None, Security(KEY_HEADER)] = None) -> Health:
    """Liveness for anyone; the catalogue's size, categories and backbone only with the API key (when one is set)."""
    if not key_accepted(request, settings, header):
        return Health(status="ok", auth=True)
    return Health(status="ok", items=len(catalog.store), categories=catalog.store.category_names,
                  backbone=catalog.store.backbone, has_model=catalog.has_model, auth=settings.api_key is not None,
                  max_upload_bytes=settings.max_upload_bytes)


@recommend.post("/similar", response_model=SimilarResponse, openapi_extra=_body_doc(SimilarQuery, "One photo."))
async def similar(request: Request, catalog: CatalogDep, settings: Settings, k: K = 10,
                  category: str | None = None) -> SimilarResponse:
    """Items that look like a catalogue item (JSON `item_id`) or an uploaded photo (multipart `image`)."""
    query, uploads = await read_query(request, SimilarQuery, settings)
    if (query.item_id is None) == (not uploads) or len(uploads) > 1:
        raise HTTPException(422, "give either an item_id (JSON) or one image (multipart), not both")
    require_categories(catalog, [category])
    if query.item_id is not None:
        require_items(catalog, [query.item_id])
    hits = await run_cpu(request, lambda: catalog.similar(
        query.item_id, *_pictures(uploads, settings), k=k, category=category), embeds=bool(uploads))
    return SimilarResponse(hits=[hit_out(h, request.scope.get("root_path", "")) for h in hits])


@recommend.post("/complementary", response_model=ComplementaryResponse,
          openapi_extra=_body_doc(ComplementaryQuery, "Photos of items in the outfit."))
async def complementary(request: Request, catalog: CatalogDep, settings: Settings, k: K = 5) -> ComplementaryResponse:
    """Items that go with the given items and photos: best k per outfit slot worn with them (or per asked category),
    and the slot of each query item and photo."""
    query, uploads = await read_query(request, ComplementaryQuery, settings)
    _check_outfit(catalog, settings, query.item_ids, uploads, least=1)
    require_categories(catalog, query.categories or [])

    def work() -> tuple[dict[str, list[Hit]], list[str | None]]:
        pictures = _pictures(uploads, settings)
        slots = catalog.query_slots(query.item_ids, pictures)
        return catalog.complementary(query.item_ids, pictures, categories=query.categories, k=k,
                                     query_slots=slots), slots

    rows, slots = await run_cpu(request, work, embeds=bool(uploads))
    root = request.scope.get("root_path", "")
    return ComplementaryResponse(results={row: [hit_out(h, root) for h in hits] for row, hits in rows.items()},
                                 query_slots=slots)


@recommend.post("/outfit-score", response_model=OutfitScoreResponse,
          openapi_extra=_body_doc(OutfitQuery, "Photos of items in the outfit."))
async def outfit_score(request: Request, catalog: CatalogDep, settings: Settings) -> OutfitScoreResponse:
    """How well two or more items and photos go together: the mean pairwise probability, each pair's, a verdict in
    words, the pairs that cannot be worn together (such a pair scores 0), and the slot of each item and photo."""
    query, uploads = await read_query(request, OutfitQuery, settings)
    _check_outfit(catalog, settings, query.item_ids, uploads, least=2)

    def work() -> tuple[OutfitScore, list[str | None]]:
        pictures = _pictures(uploads, settings)
        slots = catalog.query_slots(query.item_ids, pictures)
        return catalog.score_outfit(query.item_ids, pictures, query_slots=slots), slots

    result, slots = await run_cpu(request, work, embeds=bool(uploads))
    return OutfitScoreResponse.model_validate({**result.to_dict(), "query_slots": slots})


@recommend.post("/look", response_model=LookResponse, openapi_extra=LOOK_BODY)
async def shop_the_look(request: Request, catalog: CatalogDep, settings: Settings, k: GarmentK = 10,
                        complements_k: SlotK = 5) -> LookResponse:
    """Shop the look: every garment in a photo of a person (its kind, box and similar items among the catalogue
    categories of that kind) and items for the outfit slots the photo does not show. A product shot (no person) is
    one garment whose similar items are /similar's for the photo."""
    upload = await _one_photo(request, settings)

    def work() -> Look:
        # The library takes the bytes, so that boxes are in the upload's own pixels and a product shot is searched
        # exactly as /similar searches it; decoding once here applies the server's pixel limit (at the scale the
        # parser decodes) and names the file in errors.
        _pictures([upload], settings, at_least=CANVAS[1])
        return catalog.shop_the_look(upload.data, k=k, complements_k=complements_k)

    look = await run_cpu(request, work, embeds=True)
    return look_out(look, request.scope.get("root_path", ""))


@catalogue.get("/items", response_model=ItemPage)
def list_items(request: Request, catalog: CatalogDep, category: str | None = None,
               offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 60) -> ItemPage:
    """A page of catalogue items, optionally of one category, in storage order."""
    require_categories(catalog, [category])
    ids = _ids_in(catalog.store, category)
    root = request.scope.get("root_path", "")
    items = [item_out(catalog.store.get(i), root) for i in ids[offset:offset + limit]]
    return ItemPage(total=len(ids), offset=offset, limit=limit, items=items)


IdParam = Annotated[str, Query(alias="id", description="The item id, whatever it holds (URL-encoded).")]


@catalogue.get("/item/image", response_class=FileResponse, responses={200: {"content": {"image/*": {}}}})
def item_image_by_query(item_id: IdParam, catalog: CatalogDep) -> FileResponse:
    """The item's photo, its id as a query parameter (reaches any id, even one ending in `/image`)."""
    return item_image(item_id, catalog)


@catalogue.get("/item", response_model=ItemOut)
def get_item_by_query(request: Request, item_id: IdParam, catalog: CatalogDep) -> ItemOut:
    """One catalogue item, its id as a query parameter (reaches any id)."""
    return get_item(request, item_id, catalog)


@catalogue.get("/items/{item_id:path}/image", response_class=FileResponse,
               responses={200: {"content": {"image/*": {}}}})
def item_image(item_id: str, catalog: CatalogDep) -> FileResponse:
    """The item's photo."""
    require_items(catalog, [item_id])
    path = catalog.store.get(item_id).path
    if not path or not Path(path).is_file():
        raise HTTPException(404, f"the photo of item {item_id!r} is missing")
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


@catalogue.get("/items/{item_id:path}", response_model=ItemOut)
def get_item(request: Request, item_id: str, catalog: CatalogDep) -> ItemOut:
    """One catalogue item: its category, attributes and photo URL."""
    require_items(catalog, [item_id])
    return item_out(catalog.store.get(item_id), request.scope.get("root_path", ""))


def _check_outfit(catalog: Catalog, settings: ServiceSettings, item_ids: list[str], uploads: list[Upload], *,
                  least: int) -> None:
    """Enough (and not too many) items and photos, and all ids known."""
    count = len(item_ids) + len(uploads)
    if count < least:
        raise HTTPException(422, f"give at least {least} item_ids or images in all")
    if count > settings.max_items:
        raise HTTPException(422, f"give at most {settings.max_items} item_ids and images in all")
    require_items(catalog, item_ids)


async def _one_photo(request: Request, settings: ServiceSettings) -> Upload:
    """The request's one multipart `image`; a 422 saying what to send for none (a JSON body) or several."""
    _, uploads = await read_query(request, LookQuery, settings)
    if len(uploads) != 1:
        raise HTTPException(422, f"send one photo as a multipart `{IMAGE_FIELD}` file, not {len(uploads)}")
    return uploads[0]


def _pictures(uploads: list[Upload], settings: ServiceSettings, at_least: int = DECODE_SIDE) -> list[Image.Image]:
    """Decode uploads safely (size and bomb checks), naming each by its file name in errors."""
    return [load_image(u.data, name=u.name, max_pixels=settings.max_pixels, at_least=at_least) for u in uploads]


def _ids_in(store: CatalogStore, category: str | None) -> list[str]:
    """Live ids, all or of one category."""
    if category is None:
        return store.ids()
    return store.all_ids()[store.live_mask() & (store.all_categories() == store.category_code(category))].tolist()
