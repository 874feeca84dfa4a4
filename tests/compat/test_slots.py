"""Outfit slots: counts, learned rules (worn together, exclusive, single), JSON round trip, shop names, mappings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outfitter.compat.slots import OutfitSlots, read_slot_mapping, resolve, slot_for_name
from outfitter.errors import InputError
from tests.slot_outfits import OUTFITS

STREET = Path(__file__).parents[3] / "shared/data/street-outfits/polyvore_outfits"


@pytest.fixture(scope="module")
def slots() -> OutfitSlots:
    return OutfitSlots.learn(OUTFITS)


def test_learning_counts_outfits_per_slot_pair_and_repeat(slots):
    assert slots.slots == ("all-body", "bags", "bottoms", "jewellery", "outerwear", "shoes", "tops")
    assert slots.n_outfits == 20
    assert slots.outfits == (7, 9, 13, 3, 6, 18, 13)
    assert slots.repeats == (0, 0, 0, 3, 0, 0, 0)
    together = dict(zip(slots.slots, slots.together))
    assert together["all-body"] == (7, 4, 0, 0, 3, 7, 0)
    assert together["tops"] == (0, 5, 13, 3, 3, 11, 13)


def test_a_dress_gets_shoes_bags_and_outerwear_but_never_tops_bottoms_or_another_dress(slots):
    assert slots.goes_with(["all-body"]) == ["shoes", "bags", "outerwear"]


def test_a_top_gets_bottoms_first_and_never_another_top_or_a_dress(slots):
    assert slots.goes_with(["tops"]) == ["bottoms", "shoes", "bags", "jewellery", "outerwear"]


def test_order_is_the_product_of_frequencies_over_the_query(slots):
    assert slots.frequency(["tops", "bottoms"])["shoes"] == pytest.approx((11 / 13) ** 2)
    assert slots.goes_with(["tops", "bottoms"]) == ["shoes", "bags", "jewellery", "outerwear"]
    assert slots.goes_with(["all-body", "outerwear"]) == ["shoes", "bags"]


def test_a_slot_that_repeats_in_the_data_may_be_offered_again(slots):
    assert slots.goes_with(["jewellery"]) == ["bottoms", "jewellery", "shoes", "tops"]
    assert not slots.clashes("jewellery", "jewellery")
    assert slots.clashes("bottoms", "bottoms")


def test_exclusive_pairs_come_from_the_data(slots):
    assert slots.clashes("tops", "all-body") and slots.clashes("all-body", "bottoms")
    assert not slots.clashes("tops", "bottoms") and not slots.clashes("all-body", "outerwear")
    layered = OutfitSlots.learn(3 * [("all-body", "tops"), ("all-body", "shoes"), ("tops", "shoes"), ("shoes", "bags")])
    assert not layered.clashes("tops", "all-body")
    assert layered.goes_with(["all-body"]) == ["shoes", "tops"]


def test_slot_errors_count_own_single_slot_exclusive_and_never_worn(slots):
    assert slots.slot_errors(["all-body"], ["shoes", "tops", "all-body", "jewellery", "bags"]) == 3
    assert slots.slot_errors(["tops"], ["bottoms", "shoes", "shoes"]) == 0


def test_round_trip_through_json(slots):
    d = json.loads(json.dumps(slots.to_dict()))
    assert d == slots.to_dict()
    again = OutfitSlots.from_dict(d)
    assert again == slots
    assert again.goes_with(["tops"]) == slots.goes_with(["tops"])


def test_unknown_slot_is_an_input_error_naming_it(slots):
    with pytest.raises(InputError, match="'gizmo'"):
        slots.goes_with(["gizmo"])
    with pytest.raises(InputError, match="'hats'"):
        slots.slot_errors(["tops"], ["hats"])


@pytest.mark.parametrize(
    ("name", "slot"),
    [("t-shirt", "tops"), ("T-Shirts", "tops"), ("longsleeve", "tops"), ("pants", "bottoms"), ("Jeans", "bottoms"),
     ("outwear", "outerwear"), ("Sneakers", "shoes"), ("dresses", "all-body"), ("All-Body", "all-body"),
     ("Denim Jacket", "outerwear"), ("dress shirt", "tops"), ("watches", "jewellery"), ("gizmo", None)],
)
def test_shop_names_map_through_the_synonym_table(name, slot):
    assert slot_for_name(name) == slot


def test_mapping_files_in_json_and_csv(tmp_path):
    (tmp_path / "map.json").write_text('{"Vest": "tops", "gizmo": "accessories"}')
    (tmp_path / "map.csv").write_text("category,slot\nVest,tops\n\ngizmo,accessories\n")
    expected = {"Vest": "tops", "gizmo": "accessories"}
    assert read_slot_mapping(tmp_path / "map.json") == expected
    assert read_slot_mapping(tmp_path / "map.csv") == expected


def test_user_mapping_comes_before_the_name_table_then_none():
    categories = ["vest", "Pants", "gizmo", "widget"]
    assert resolve(categories) == {"vest": "outerwear", "Pants": "bottoms", "gizmo": None, "widget": None}
    mapped = resolve(categories, {"Vest": "tops", "gizmo": "accessories"})
    assert mapped == {"vest": "tops", "Pants": "bottoms", "gizmo": "accessories", "widget": None}


def test_bad_mappings_are_located(tmp_path):
    (tmp_path / "bad.csv").write_text("shirt,tops\npants,trousers\n")
    with pytest.raises(InputError, match="'trousers'") as error:
        resolve(["pants"], tmp_path / "bad.csv")
    assert (error.value.path, error.value.line) == (str(tmp_path / "bad.csv"), 2)
    (tmp_path / "bad.json").write_text('{"shirt": "tops", "pants": "trousers"}')
    with pytest.raises(InputError) as error:
        read_slot_mapping(tmp_path / "bad.json")
    assert error.value.field == "pants"
    (tmp_path / "broken.json").write_text('{"shirt": ')
    with pytest.raises(InputError, match="not valid JSON") as error:
        read_slot_mapping(tmp_path / "broken.json")
    assert error.value.path == str(tmp_path / "broken.json")
    with pytest.raises(InputError) as error:
        resolve(["pants"], {"pants": "trousers"})
    assert error.value.field == "pants"


def test_street_outfits_give_sensible_slots():
    if not STREET.is_dir():
        pytest.skip(f"{STREET} is not here")
    metadata = json.loads((STREET / "polyvore_item_metadata.json").read_text())
    train = json.loads((STREET / "nondisjoint" / "train.json").read_text())
    slots = OutfitSlots.learn([metadata[item["item_id"]]["semantic_category"] for item in outfit["items"]]
                              for outfit in train)
    assert not {"tops", "bottoms", "all-body"} & set(slots.goes_with(["all-body"]))
    assert {"bottoms", "shoes"} <= set(slots.goes_with(["tops"])) and "tops" not in slots.goes_with(["tops"])
    assert "bottoms" not in slots.goes_with(["bottoms"])
