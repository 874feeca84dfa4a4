"""Reading a street-photos folder: splits by photo number, and clear errors for broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from outfitter.datasets.street_photos import StreetPhotos
from outfitter.errors import InputError
from outfitter.parsing.labels import CLASSES, class_table


def test_splits_go_by_photo_number(street_folder: Path) -> None:
    data = StreetPhotos(street_folder)
    assert [p.number for p in data.photos("train")] == list(range(1, 7))
    assert [p.number for p in data.photos("valid")] == [641, 642]
    assert [p.number for p in data.photos("test")] == [721, 722]
    image, labels = data.photos("test")[0].load()
    assert labels.shape == (image.height, image.width) and set(np.unique(labels)) == {0, 25, 39, 41, 51}


def test_labels_map_to_parser_classes(street_folder: Path) -> None:
    table = class_table(StreetPhotos(street_folder).label_categories)
    assert [CLASSES[table[i]] for i in (0, 19, 25, 39, 41, 51)] == [
        "background", "person", "bottoms", "shoes", "person", "tops"]


def test_a_mask_of_the_wrong_size_is_named(street_folder: Path, tmp_path: Path) -> None:
    photo = StreetPhotos(street_folder).photos("train")[0]
    bad = tmp_path / "0001.png"
    Image.new("L", (10, 10)).save(bad)
    with pytest.raises(InputError, match="0001.png"):
        type(photo)(photo.number, photo.photo, bad).load()


def test_a_bad_labels_row_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("id,name,semantic_category\n0,background,\nx,skin,\n")
    with pytest.raises(InputError, match=r"labels.csv:3"):
        StreetPhotos(tmp_path)


def test_a_folder_without_labels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="labels.csv"):
        StreetPhotos(tmp_path)
