"""Request bodies: a JSON object, or a multipart form of `image` files plus the same fields, read into one model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, get_args, get_origin

from fastapi import HTTPException, Request
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData, UploadFile

from outfitter.service.errors import explain
from outfitter.service.settings import ServiceSettings

Q = TypeVar("Q", bound=BaseModel)
IMAGE_FIELD = "image"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Upload:
    """One uploaded photo: its file name and bytes."""

    name: str
    data: bytes


async def read_query(request: Request, model: type[Q], settings: ServiceSettings) -> tuple[Q, list[Upload]]:
    """The request's fields as `model` and its uploaded images (none for JSON); 415 for any other body."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == MULTIPART:
        async with request.form(max_files=settings.max_images, max_fields=4 * settings.max_items) as form:
            return _validate(model, _fields(form, model)), [await _upload(f, n) for n, f in enumerate(_files(form), 1)]
    if kind in ("application/json", ""):
        body = await request.body()
        return _validate(model, body or b"{}"), []
    raise HTTPException(415, f"send JSON (application/json) or {MULTIPART} with `{IMAGE_FIELD}` files, not {kind}")


def _validate(model: type[Q], data: bytes | dict) -> Q:
    """The model, or a 422 saying which field is wrong."""
    try:
        return model.model_validate_json(data) if isinstance(data, bytes) else model.model_validate(data)
    except ValidationError as error:
        raise HTTPException(422, explain(error.errors())) from None


def _fields(form: FormData, model: type[BaseModel]) -> dict[str, object]:
    """The model's fields found among the form's text fields: every value for a list field, else the last."""
    found = {}
    for name, info in model.model_fields.items():
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        if values:
            found[name] = values if _is_list(info) else values[-1]
    return found


def _is_list(info: FieldInfo) -> bool:
    return any(get_origin(t) is list for t in (info.annotation, *get_args(info.annotation)))


def _files(form: FormData) -> list[UploadFile]:
    """The form's `image` parts, which must all be files."""
    parts = form.getlist(IMAGE_FIELD)
    if any(not isinstance(p, UploadFile) for p in parts):
        raise HTTPException(422, f"`{IMAGE_FIELD}` must be a file upload, not a text field")
    return parts


async def _upload(file: UploadFile, number: int) -> Upload:
    return Upload(file.filename or f"image {number}", await file.read())
