"""Reading Polyvore Outfits: items, outfits, and the compatibility and fill-in-the-blank tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outfitter.datasets import FITBQuestion, PolyvoreOutfits
from outfitter.errors import InputError

METADATA = {
    "1001": {"semantic_category": "tops", "category_id": "11", "title": "white tee", "description": "",
             "url_name": "white tee", "catgeories": ["Tops"], "related": []},
    "1002": {"semantic_category": "bottoms", "category_id": "27", "title": "jeans", "description": "",
             "url_name": "jeans", "catgeories": ["Jeans"], "related": []},
    "1003": {"semantic_category": "shoes", "category_id": "41", "title": "sneakers", "description": "",
             "url_name": "sneakers", "catgeories": ["Shoes"], "related": []},
    "2001": {"semantic_category": "tops", "category_id": "11", "title": "red tee", "description": "",
             "url_name": "red tee", "catgeories": ["Tops"], "related": []},
    "2002": {"semantic_category": "shoes", "category_id": "41", "title": "boots", "description": "",
             "url_name": "boots", "catgeories": ["Shoes"], "related": []},
    "3001": {"semantic_category": "bags", "category_id": "35", "title": "tote", "description": "",
             "url_name": "tote", "catgeories": ["Bags"], "related": []},
}
TRAIN = [
    {"set_id": "500", "items": [{"item_id": "1002", "index": 2}, {"item_id": "1001", "index": 1},
                                {"item_id": "1003", "index": 3}]},
    {"set_id": "600", "items": [{"item_id": "2001", "index": 1}, {"item_id": "2002", "index": 2}]},
    {"set_id": "800", "items": [{"item_id": "3001", "index": 1}, {"item_id": "2001", "index": 2}]},
]
TEST = [{"set_id": "700", "items": [{"item_id": "3001", "index": 1}, {"item_id": "2002", "index": 2}]}]


def write_dataset(root: Path, *, missing_image: str | None = None) -> Path:
    """A tiny Polyvore Outfits folder in the exact file layout (test split only where a test needs it)."""
    (root / "images").mkdir(parents=True)
    for item_id in METADATA:
        if item_id != missing_image:
            (root / "images" / f"{item_id}.jpg").write_bytes(b"jpeg bytes are not read here")
    (root / "polyvore_item_metadata.json").write_text(json.dumps(METADATA))
    (root / "categories.csv").write_text("11,T-Shirts,tops\n27,Jeans,bottoms\n41,Sneakers,shoes\n")
    (root / "nondisjoint").mkdir()
    (root / "nondisjoint" / "train.json").write_text(json.dumps(TRAIN, indent=1))
    (root / "nondisjoint" / "test.json").write_text(json.dumps(TEST))
    (root / "nondisjoint" / "compatibility_train.txt").write_text("1 500_1 500_2 500_3\n\n0 500_1 600_2\n")
    fitb = [{"question": ["500_1", "500_3"], "answers": ["600_1", "500_2", "600_2", "800_1"], "blank_position": 2}]
    (root / "nondisjoint" / "fill_in_blank_train.json").write_text(json.dumps(fitb))
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "polyvore_outfits")


def test_items_carry_semantic_category_and_metadata(root: Path) -> None:
    items = PolyvoreOutfits(root).items()

    assert [item.item_id for item in items] == list(METADATA)
    tee = items[0]
    assert tee.category == "tops" and tee.path == str(root / "images" / "1001.jpg")
    assert tee.attributes == {"category_id": "11", "title": "white tee", "fine_category": "T-Shirts"}
    assert "fine_category" not in items[-1].attributes  # category 35 is not in categories.csv


def test_items_of_a_split_are_those_in_its_outfits(root: Path) -> None:
    assert [item.item_id for item in PolyvoreOutfits(root).items("test")] == ["2002", "3001"]


def test_items_without_an_image_are_skipped_and_reported(tmp_path: Path) -> None:
    root = write_dataset(tmp_path, missing_image="1003")
    skipped: list[str] = []

    items = PolyvoreOutfits(root, on_missing=skipped.append).items()

    assert "1003" not in {item.item_id for item in items} and len(items) == len(METADATA) - 1
    assert skipped == [f"{root / 'images' / '1003.jpg'}: image not found, item 1003 skipped"]


def test_outfits_list_items_in_index_order(root: Path) -> None:
    outfit = PolyvoreOutfits(root).outfits("train")[0]
    assert outfit.set_id == "500" and outfit.item_ids == ("1001", "1002", "1003")


def test_compatibility_resolves_setid_index_tokens(root: Path) -> None:
    assert PolyvoreOutfits(root).compatibility("train") == [(1, ["1001", "1002", "1003"]), (0, ["1001", "2002"])]


def test_fitb_right_answer_is_the_one_from_the_questions_outfit(root: Path) -> None:
    (question,) = PolyvoreOutfits(root).fitb("train")
    assert question == FITBQuestion(
        question=["1001", "1003"], answers=["2001", "1002", "2002", "3001"], correct=1, blank_position=2
    )


def test_categories_map_ids_to_fine_and_semantic_names(root: Path) -> None:
    assert PolyvoreOutfits(root).categories()["27"] == ("Jeans", "bottoms")


def test_version_and_split_are_checked(root: Path) -> None:
    with pytest.raises(InputError, match="unknown version 'joint'"):
        PolyvoreOutfits(root, version="joint")
    with pytest.raises(InputError, match="unknown split 'dev'"):
        PolyvoreOutfits(root).outfits("dev")
    with pytest.raises(InputError, match="file not found") as missing:
        PolyvoreOutfits(root, version="disjoint").outfits("train")
    assert missing.value.path == str(root / "disjoint" / "train.json")


def test_malformed_json_names_file_and_line(root: Path) -> None:
    path = root / "nondisjoint" / "train.json"
    path.write_text('[\n {"set_id": "500",\n  "items": [}\n]')
    with pytest.raises(InputError, match="malformed JSON") as error:
        PolyvoreOutfits(root).outfits("train")
    assert (error.value.path, error.value.line) == (str(path), 3)


def test_bad_outfit_record_names_the_field(root: Path) -> None:
    path = root / "nondisjoint" / "train.json"
    path.write_text(json.dumps([TRAIN[0], {"set_id": "600", "items": [{"item_id": "2001", "index": "one"}]}]))
    with pytest.raises(InputError, match=r"\(field '\[1\].items\[0\].index'\): unexpected type str"):
        PolyvoreOutfits(root).outfits("train")


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        ("1 500_1 500_2\n1 500_1 999_1\n", 2, "unknown item '999_1'"),
        ("1 500_1 500_4\n", 1, "unknown item '500_4'"),
        ("1 500_1\nyes 500_1 500_2\n", 2, "label must be 0 or 1, got 'yes'"),
        ("1\n", 1, "no items after the label"),
    ],
)
def test_compatibility_errors_name_file_and_line(root: Path, lines: str, line: int, message: str) -> None:
    path = root / "nondisjoint" / "compatibility_train.txt"
    path.write_text(lines)
    with pytest.raises(InputError, match=message) as error:
        PolyvoreOutfits(root).compatibility("train")
    assert str(error.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({"question": ["500_1"], "answers": ["500_2", "600_1", "600_2"], "blank_position": 2},
         "[1].answers", "expected 4 answers, got 3"),
        ({"question": ["500_1"], "answers": ["500_2", "600_1", "600_2", "700_1"], "blank_position": 2},
         "[1].answers[3]", "unknown item '700_1'"),
        ({"question": ["500_1"], "answers": ["600_1", "600_2", "600_1", "600_2"], "blank_position": 2},
         "[1].answers", "found 0"),
        ({"question": ["500_1"], "answers": ["500_2", "600_1", "600_2", "600_1"]},
         "[1].blank_position", "missing key"),
    ],
)
def test_fitb_errors_name_file_and_field(root: Path, record: dict, field: str, message: str) -> None:
    path = root / "nondisjoint" / "fill_in_blank_train.json"
    good = {"question": ["500_1"], "answers": ["500_2", "600_1", "600_2", "600_1"], "blank_position": 2}
    path.write_text(json.dumps([good, record]))
    with pytest.raises(InputError, match=message) as error:
        PolyvoreOutfits(root).fitb("train")
    assert error.value.path == str(path) and error.value.field == field


def test_split_item_missing_from_metadata_is_an_error(root: Path) -> None:
    path = root / "nondisjoint" / "test.json"
    path.write_text(json.dumps([{"set_id": "700", "items": [{"item_id": "9999", "index": 1}]}]))
    with pytest.raises(InputError, match="not in polyvore_item_metadata.json, e.g. '9999'") as error:
        PolyvoreOutfits(root).items("test")
    assert error.value.path == str(path)


def test_metadata_record_without_semantic_category_names_the_item(root: Path) -> None:
    (root / "polyvore_item_metadata.json").write_text(json.dumps({"1001": {"title": "tee"}}))
    with pytest.raises(InputError) as error:
        PolyvoreOutfits(root).items()
    assert error.value.field == '["1001"].semantic_category'


def test_categories_csv_rows_need_three_fields(root: Path) -> None:
    (root / "categories.csv").write_text("11,T-Shirts,tops\n27,Jeans\n")
    with pytest.raises(InputError, match="expected 3 fields") as error:
        PolyvoreOutfits(root).categories()
    assert error.value.line == 2


def test_a_categories_file_that_is_not_utf8_is_named_with_its_line(root: Path) -> None:
    (root / "categories.csv").write_bytes(b"1,shirt,tops\n2,caf\xe9 dress,all-body\n")
    with pytest.raises(InputError, match=r"categories.csv:\d.*not UTF-8"):
        PolyvoreOutfits(root).items()
