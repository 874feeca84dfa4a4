"""Contact sheets: a valid PNG of the expected size, with a grey placeholder wherever a photo is unusable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from outfitter.sheets import SheetCell, contact_sheet
from outfitter.types import Hit

THUMB = 64
PLACEHOLDER = (200, 200, 200)


def photo(tmp_path: Path, name: str, colour: tuple[int, int, int]) -> Path:
    """A small solid-colour JPEG on disk."""
    path = tmp_path / name
    Image.new("RGB", (80, 120), colour).save(path)
    return path


def count(img: Image.Image, colour: tuple[int, int, int]) -> int:
    """How many pixels of img are exactly colour."""
    return int((np.asarray(img) == colour).all(-1).sum())


def test_sheet_with_query_and_rows_is_a_png_of_the_expected_size(tmp_path: Path) -> None:
    red, blue = photo(tmp_path, "red.jpg", (255, 0, 0)), photo(tmp_path, "blue.jpg", (0, 0, 255))
    rows = [
        ("similar", [SheetCell(red, ("1", "tops", "0.910")), SheetCell(blue, ("2", "tops", "0.850"))]),
        ("shoes", [SheetCell.from_hit(Hit("3", 0.5, "shoes", str(blue)))]),
    ]
    out = contact_sheet(rows, tmp_path / "sheet.png", query=SheetCell(red, ("query",)), thumb=THUMB, title="demo")
    assert out == tmp_path / "sheet.png"
    with Image.open(out) as sheet:
        assert sheet.format == "PNG"
        width, height = sheet.size
        sheet = sheet.convert("RGB")
    assert 2 * THUMB < width < 2 * THUMB + 200  # label column + two thumbnails
    assert 3 * THUMB < height < 3 * THUMB + 250  # title + three rows with captions
    assert count(sheet, PLACEHOLDER) < THUMB * THUMB // 4  # no grey tile (text antialiasing aside)


def test_missing_corrupt_or_absent_images_become_grey_placeholders(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cells = [SheetCell(tmp_path / "missing.jpg", ("7",)), SheetCell(corrupt, ("8",)), SheetCell(None, ("9",))]
    out = contact_sheet([("similar", cells)], tmp_path / "sheet.png", thumb=THUMB)
    with Image.open(out) as sheet:
        grey = count(sheet.convert("RGB"), PLACEHOLDER)
    assert grey > 3 * THUMB * THUMB * 0.8  # three grey tiles, less the "no image" text


def test_pil_images_are_accepted_and_letterboxed(tmp_path: Path) -> None:
    cell = SheetCell(Image.new("RGBA", (200, 50), (0, 128, 0, 255)), ("wide",))
    out = contact_sheet([("bags", [cell])], tmp_path / "sheet.png", thumb=THUMB)
    with Image.open(out) as sheet:
        assert count(sheet.convert("RGB"), (0, 128, 0)) > THUMB * THUMB // 8


def test_writes_atomically_over_an_old_sheet_and_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "out" / "sheet.png"
    target.parent.mkdir()
    target.write_bytes(b"old")
    contact_sheet([("similar", [SheetCell(None, ("x",))])], target, thumb=THUMB)
    assert target.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in target.parent.iterdir()] == ["sheet.png"]  # no temporary file left behind
    assert contact_sheet([], tmp_path / "new" / "empty.png").exists()


def test_long_labels_and_captions_are_shortened_not_overflowing(tmp_path: Path) -> None:
    cell = SheetCell(None, ("an-extremely-long-item-identifier-that-cannot-fit",))
    out = contact_sheet([("a very long category name indeed", [cell])], tmp_path / "s.png", thumb=THUMB)
    with Image.open(out) as sheet:
        assert sheet.width < 2 * THUMB + 200
