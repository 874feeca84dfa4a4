"""A shop's catalogue as a folder of photos or a CSV manifest."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from outfitter.datasets import read_folder, read_manifest, read_source
from outfitter.errors import InputError


def photo(path: Path) -> Path:
    """Save a tiny real image at path (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (200, 30, 30)).save(path)
    return path


def test_folder_categories_come_from_first_level_subfolders(tmp_path: Path) -> None:
    photo(tmp_path / "shoes" / "boot.JPG")
    photo(tmp_path / "shoes" / "winter" / "snow.png")
    photo(tmp_path / "bags" / "tote.webp")
    photo(tmp_path / "loose.jpeg")
    (tmp_path / "bags" / "notes.txt").write_text("not an image")
    photo(tmp_path / "bags" / ".hidden.jpg")

    items = read_folder(tmp_path)

    assert [item.item_id for item in items] == ["bags/tote", "loose", "shoes/boot", "shoes/winter/snow"]
    assert [item.category for item in items] == ["bags", None, "shoes", "shoes"]
    assert items[2].path == str((tmp_path / "shoes" / "boot.JPG").absolute())


def test_missing_or_empty_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as missing:
        read_folder(tmp_path / "nowhere")
    assert missing.value.path == str(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files") as empty:
        read_folder(tmp_path / "empty")
    assert "empty" in str(empty.value)


def test_folder_rejects_two_photos_with_the_same_id(tmp_path: Path) -> None:
    photo(tmp_path / "tops" / "shirt.jpg")
    photo(tmp_path / "tops" / "shirt.png")
    with pytest.raises(InputError, match="same id 'tops/shirt'"):
        read_folder(tmp_path)


def test_manifest_columns_become_item_fields(tmp_path: Path) -> None:
    photo(tmp_path / "img" / "a.jpg")
    absolute = photo(tmp_path / "elsewhere" / "b.png")
    manifest = tmp_path / "catalogue.csv"
    manifest.write_text(f"path,category,colour,price\nimg/a.jpg,tops,red,10\n{absolute},,blue,12\n")

    first, second = read_manifest(manifest)

    assert first.item_id == "a" and first.category == "tops"
    assert first.path == str((tmp_path / "img" / "a.jpg").absolute())
    assert first.attributes == {"colour": "red", "price": "10"}
    assert second.item_id == "b" and second.category is None and second.path == str(absolute)


def test_manifest_id_column_overrides_the_file_stem(tmp_path: Path) -> None:
    photo(tmp_path / "x" / "shirt.jpg")
    photo(tmp_path / "y" / "shirt.jpg")
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,path\nsku-1,x/shirt.jpg\nsku-2,y/shirt.jpg\n")
    assert [item.item_id for item in read_manifest(manifest)] == ["sku-1", "sku-2"]


def test_manifest_rows_with_missing_photos_are_skipped_and_reported(tmp_path: Path) -> None:
    photo(tmp_path / "a.jpg")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path\na.jpg\ngone.jpg\n")
    skipped: list[str] = []

    items = read_manifest(manifest, on_missing=skipped.append)

    assert [item.item_id for item in items] == ["a"]
    assert len(skipped) == 1 and f"{manifest}:3" in skipped[0] and "gone.jpg" in skipped[0]


def test_manifest_missing_photos_are_logged_by_default(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("path\ngone.jpg\n")
    with caplog.at_level(logging.WARNING):
        assert read_manifest(manifest) == []
    assert "gone.jpg" in caplog.text


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("file,category\na.jpg,tops\n", 1, "no 'path' column"),
        ("path,category\na.jpg,tops\n,shoes\n", 3, "empty path"),
        ("id,path\nk,a.jpg\nj,b.jpg\nk,c.jpg\n", 4, "duplicate id 'k', first on line 2"),
        ("path\nx/a.jpg\n\ny/a.png\n", 4, "first on line 2 (ids default to the file name"),
        ("path\na.jpg,extra\n", 2, "2 fields but the header has 1"),
    ],
)
def test_manifest_errors_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(content)
    with pytest.raises(InputError) as error:
        read_manifest(manifest)
    assert error.value.path == str(manifest) and error.value.line == line
    assert message in str(error.value) and str(error.value).startswith(f"{manifest}:{line}")


def test_read_source_picks_folder_or_manifest(tmp_path: Path) -> None:
    photo(tmp_path / "photos" / "tops" / "a.jpg")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,category\nphotos/tops/a.jpg,tops\n")

    assert [item.item_id for item in read_source(tmp_path / "photos")] == ["tops/a"]
    assert [item.item_id for item in read_source(manifest)] == ["a"]
    with pytest.raises(InputError, match="folder of images or a .csv"):
        read_source(tmp_path / "photos" / "tops" / "a.jpg")


@pytest.mark.parametrize("bad_id, reason", [("../etc", "path segment"), ("a/./b", "path segment"),
                                            ("x" * 513, "513 characters"), ("tab\there", "control character")])
def test_manifest_ids_that_cannot_name_one_item_are_refused_with_their_line(tmp_path: Path, bad_id, reason) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    (tmp_path / "m.csv").write_text(f"path,id\na.jpg,good\na.jpg,\"{bad_id}\"\n")
    with pytest.raises(InputError, match=rf"m.csv:3 \(field 'id'\): .*{reason}"):
        read_manifest(tmp_path / "m.csv")


def test_a_photo_whose_name_holds_a_control_character_is_named(tmp_path: Path) -> None:
    (tmp_path / "tops").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "tops" / "bad\x01name.jpg", format="JPEG")
    with pytest.raises(InputError, match="control character.*rename the file"):
        read_folder(tmp_path)


def test_a_source_that_does_not_exist_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="phots: not found"):
        read_source(tmp_path / "phots")


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_manifest_separated_by_semicolons_or_tabs_reads_like_a_comma_one(tmp_path: Path, separator: str) -> None:
    photo(tmp_path / "a.jpg")
    manifest = tmp_path / "catalogue.csv"
    rows = [["path", "id", "category", "price"], ["a.jpg", "SKU1", "tops", "29,90"]]
    manifest.write_bytes(b"\xef\xbb\xbf" + "\n".join(separator.join(r) for r in rows).encode() + b"\n")  # Excel's BOM
    (item,) = read_manifest(manifest)
    assert (item.item_id, item.category, item.attributes) == ("SKU1", "tops", {"price": "29,90"})


def test_manifest_rows_may_name_photos_by_uri(tmp_path: Path) -> None:
    manifest = tmp_path / "catalogue.csv"
    manifest.write_text("path,category\ns3://shop-photos/tops/red-shirt.jpg,tops\n")
    (item,) = read_manifest(manifest)  # read (and reported if missing) when embedded, not here
    assert (item.item_id, item.path, item.category) == ("red-shirt", "s3://shop-photos/tops/red-shirt.jpg", "tops")
