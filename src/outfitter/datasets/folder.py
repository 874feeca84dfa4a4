"""A shop's own catalogue: a folder of product photos, or a CSV manifest naming them.

A folder's first-level sub-folders are the categories (``shoes/red-boot.jpg`` is a shoe with id
``shoes/red-boot``). A manifest has a ``path`` column and optional ``id`` and ``category`` columns;
every other column becomes an attribute. Rows whose photo is missing are skipped and reported, not
fatal: a catalogue export with a few broken links should still load.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from outfitter.errors import InputError
from outfitter.utils.ids import id_problem
from outfitter.images import IMAGE_SUFFIXES, is_uri
from outfitter.types import Item

IMAGE_EXTENSIONS = IMAGE_SUFFIXES
RESERVED_COLUMNS = ("id", "path", "category")
DELIMITERS = (",", ";", "\t")
_LOGGED_MESSAGES = 5

logger = logging.getLogger(__name__)

OnMissing = Callable[[str], None]


def report_missing(messages: list[str], on_missing: OnMissing | None) -> None:
    """Hand each skipped-item message to on_missing, or log a few and a count so big datasets stay readable."""
    if on_missing is not None:
        for message in messages:
            on_missing(message)
        return
    for message in messages[:_LOGGED_MESSAGES]:
        logger.warning(message)
    if len(messages) > _LOGGED_MESSAGES:
        logger.warning("%d more items skipped for missing images", len(messages) - _LOGGED_MESSAGES)


def read_source(path: str | Path, *, on_missing: OnMissing | None = None) -> list[Item]:
    """Read a catalogue from a folder of photos or a .csv manifest, whichever path is."""
    path = Path(path)
    if path.is_dir():
        return read_folder(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return read_manifest(path, on_missing=on_missing)
    if not path.exists():
        raise InputError("not found (give a folder of photos or a .csv manifest)", path=path)
    raise InputError("expected a folder of images or a .csv manifest", path=path)


def read_folder(root: str | Path) -> list[Item]:
    """Every image under root, category from its first-level sub-folder, sorted by id."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("folder does not exist", path=root)
    by_id: dict[str, Path] = {}
    for path in _image_files(root):
        item_id = path.relative_to(root).with_suffix("").as_posix()
        if problem := id_problem(item_id):
            raise InputError(f"{problem} (rename the file)", path=path)
        if item_id in by_id:
            raise InputError(f"{by_id[item_id].name} and {path.name} give the same id {item_id!r}", path=path.parent)
        by_id[item_id] = path
    if not by_id:
        raise InputError("no image files found (looked for " + ", ".join(sorted(IMAGE_EXTENSIONS)) + ")", path=root)
    return [_folder_item(root, item_id, by_id[item_id]) for item_id in sorted(by_id)]


def _image_files(root: Path) -> Iterator[Path]:
    """Image files under root, recursively, skipping hidden files and folders (.DS_Store, ._x.jpg)."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                yield Path(folder, name)


def _folder_item(root: Path, item_id: str, path: Path) -> Item:
    """The Item for one photo: category is the first-level folder, None at the top level."""
    parts = item_id.split("/")
    category = parts[0] if len(parts) > 1 else None
    return Item(item_id=item_id, path=str(path.absolute()), category=category)


def read_manifest(csv_path: str | Path, *, on_missing: OnMissing | None = None) -> list[Item]:
    """Items listed in a CSV manifest; rows whose image is missing are skipped and passed to on_missing."""
    csv_path = Path(csv_path)
    items: list[Item] = []
    missing: list[str] = []
    for line, item in _manifest_rows(csv_path):
        if is_uri(item.path) or Path(item.path).is_file():  # a URI's photo is read (and reported) when embedded
            items.append(item)
        else:
            missing.append(f"{csv_path}:{line}: image not found, row skipped: {item.path}")
    report_missing(missing, on_missing)
    return items


def _manifest_rows(csv_path: Path) -> Iterator[tuple[int, Item]]:
    """(line number, Item) for each row, checking columns, paths and id uniqueness as it goes."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=_delimiter(handle))
            header = _manifest_header(csv_path, reader)
            first_line_of: dict[str, int] = {}
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                item = _manifest_item(csv_path, reader.line_num, header, row)
                if problem := id_problem(item.item_id):
                    raise InputError(problem, path=csv_path, line=reader.line_num, field="id" if "id" in header else "path")
                _check_unique(csv_path, reader.line_num, item.item_id, first_line_of, "id" in header)
                yield reader.line_num, item
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read manifest: {error}", path=csv_path) from error
    if not first_line_of:
        raise InputError("manifest has a header but no rows", path=csv_path)


def _delimiter(handle: TextIO) -> str:
    """The manifest's field separator: `,`, or `;` (spreadsheets in many locales) or a tab, whichever makes a
    `path` column of the header line (`,` when none does, so the error names the header as read)."""
    first = handle.readline()
    handle.seek(0)
    for delimiter in DELIMITERS:
        if "path" in (cell.strip() for cell in next(csv.reader([first], delimiter=delimiter), [])):
            return delimiter
    return ","


def _manifest_header(csv_path: Path, reader: Iterator[list[str]]) -> list[str]:
    """The stripped column names; the manifest must have a `path` column and no repeated names."""
    header = [name.strip() for name in next(reader, [])]
    if not header:
        raise InputError("manifest is empty (expected a header line with a 'path' column)", path=csv_path)
    if "path" not in header:
        raise InputError(f"no 'path' column in header (found: {', '.join(header)})", path=csv_path, line=1)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"repeated column names: {', '.join(repeated)}", path=csv_path, line=1)
    return header


def _manifest_item(csv_path: Path, line: int, header: list[str], row: list[str]) -> Item:
    """One row as an Item: path resolved against the CSV's folder, id defaulting to the file stem."""
    if len(row) > len(header):
        raise InputError(f"{len(row)} fields but the header has {len(header)}", path=csv_path, line=line)
    values = dict(zip(header, [cell.strip() for cell in row] + [""] * (len(header) - len(row))))
    if not values["path"]:
        raise InputError("empty path", path=csv_path, line=line, field="path")
    attributes = {name: value for name, value in values.items() if name not in RESERVED_COLUMNS}
    if is_uri(values["path"]):
        return Item(values.get("id") or Path(values["path"].split("://", 1)[1]).stem, values["path"],
                    values.get("category") or None, attributes)
    image = Path(values["path"])
    image = image if image.is_absolute() else csv_path.parent / image
    return Item(
        item_id=values.get("id") or image.stem,
        path=str(image.absolute()),
        category=values.get("category") or None,
        attributes=attributes,
    )


def _check_unique(csv_path: Path, line: int, item_id: str, first_line_of: dict[str, int], has_id: bool) -> None:
    """Reject an id seen before, naming both lines; without an id column, suggest adding one."""
    if item_id in first_line_of:
        hint = "" if has_id else " (ids default to the file name without extension: add an 'id' column)"
        message = f"duplicate id {item_id!r}, first on line {first_line_of[item_id]}{hint}"
        raise InputError(message, path=csv_path, line=line, field="id" if has_id else "path")
    first_line_of[item_id] = line
