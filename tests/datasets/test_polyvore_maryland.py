"""Reading Maryland Polyvore (Han et al. 2017): items named setid_index, test-set FITB and compatibility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outfitter.datasets import FITBQuestion, MarylandPolyvore
from outfitter.errors import InputError


def outfit(set_id: str, *categories: int) -> dict:
    """One outfit record as in {split}_no_dup.json, item i (1-based) of the given category ids."""
    items = [
        {"index": i, "name": f"item {i}", "categoryid": c, "price": 9.5, "likes": 3, "image": f"http://x/{i}.jpg"}
        for i, c in enumerate(categories, start=1)
    ]
    return {"set_id": set_id, "name": f"look {set_id}", "items": items, "likes": 10, "views": 20}


def write_dataset(root: Path, *, answer_key: str = "answer", skip_image: str | None = None) -> Path:
    """A tiny Maryland Polyvore folder: train and test splits, photos, and both test-set task files."""
    splits = {"train": [outfit("11", 4, 7)], "test": [outfit("21", 4, 7, 9), outfit("22", 4, 9)]}
    for split, outfits in splits.items():
        (root / f"{split}_no_dup.json").write_text(json.dumps(outfits))
        for record in outfits:
            for item in record["items"]:
                image = root / "images" / record["set_id"] / f"{item['index']}.jpg"
                image.parent.mkdir(parents=True, exist_ok=True)
                if f"{record['set_id']}_{item['index']}" != skip_image:
                    image.write_bytes(b"jpeg bytes are not read here")
    fitb = [{"question": ["21_1", "21_3"], answer_key: ["21_2", "22_1", "22_2", "21_1"], "blank_position": 2}]
    (root / "fill_in_blank_test.json").write_text(json.dumps(fitb))
    (root / "fashion_compatibility_prediction.txt").write_text("1 21_1 21_2 21_3\n0 21_1 22_2\n")
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_dataset(tmp_path)


def test_items_are_named_setid_index_with_category_id(root: Path) -> None:
    items = MarylandPolyvore(root).items("test")

    assert [item.item_id for item in items] == ["21_1", "21_2", "21_3", "22_1", "22_2"]
    first = items[0]
    assert first.category == "4" and first.path == str(root / "images" / "21" / "1.jpg")
    assert first.attributes == {
        "index": 1, "set_id": "21", "name": "item 1", "price": 9.5, "likes": 3, "image_url": "http://x/1.jpg"
    }


def test_items_without_split_cover_every_split_present(root: Path) -> None:
    assert len(MarylandPolyvore(root).items()) == 2 + 5  # no valid_no_dup.json here


def test_items_without_an_image_are_skipped_and_reported(tmp_path: Path) -> None:
    root = write_dataset(tmp_path, skip_image="22_2")
    skipped: list[str] = []

    items = MarylandPolyvore(root, on_missing=skipped.append).items("test")

    assert "22_2" not in {item.item_id for item in items}
    assert skipped == [f"{root / 'images' / '22' / '2.jpg'}: image not found, item 22_2 skipped"]


def test_outfits_list_item_ids(root: Path) -> None:
    assert [o.item_ids for o in MarylandPolyvore(root).outfits("test")] == [("21_1", "21_2", "21_3"), ("22_1", "22_2")]


@pytest.mark.parametrize("answer_key", ["answer", "answers"])
def test_fitb_first_answer_is_right(tmp_path: Path, answer_key: str) -> None:
    root = write_dataset(tmp_path, answer_key=answer_key)
    assert MarylandPolyvore(root).fitb() == [
        FITBQuestion(question=["21_1", "21_3"], answers=["21_2", "22_1", "22_2", "21_1"], correct=0, blank_position=2)
    ]


def test_compatibility_reads_labels_and_items(root: Path) -> None:
    assert MarylandPolyvore(root).compatibility() == [(1, ["21_1", "21_2", "21_3"]), (0, ["21_1", "22_2"])]


def test_unknown_compatibility_item_names_file_and_line(root: Path) -> None:
    path = root / "fashion_compatibility_prediction.txt"
    path.write_text("1 21_1 21_2\n0 21_1 11_1\n")  # 11_1 is a train item: the task names test items
    with pytest.raises(InputError, match="unknown item '11_1'") as error:
        MarylandPolyvore(root).compatibility()
    assert str(error.value).startswith(f"{path}:2: ")


def test_fitb_with_three_answers_names_the_field(root: Path) -> None:
    path = root / "fill_in_blank_test.json"
    path.write_text(json.dumps([{"question": ["21_1"], "answer": ["21_2", "22_1", "22_2"], "blank_position": 2}]))
    with pytest.raises(InputError, match="expected 4 answers") as error:
        MarylandPolyvore(root).fitb()
    assert error.value.field == "[0].answer"


def test_bad_item_record_names_file_and_field(root: Path) -> None:
    path = root / "train_no_dup.json"
    path.write_text(json.dumps([{"set_id": "11", "items": [{"index": 1, "name": "no category"}]}]))
    with pytest.raises(InputError, match="missing key 'categoryid'") as error:
        MarylandPolyvore(root).outfits("train")
    assert error.value.path == str(path) and error.value.field == "[0].items[0].categoryid"


def test_missing_split_and_bad_split_name(root: Path) -> None:
    with pytest.raises(InputError, match="file not found") as error:
        MarylandPolyvore(root).outfits("valid")
    assert error.value.path == str(root / "valid_no_dup.json")
    with pytest.raises(InputError, match="unknown split"):
        MarylandPolyvore(root).items("validation")
    with pytest.raises(InputError, match="no {train,valid,test}_no_dup.json"):
        MarylandPolyvore(root / "images").items()
