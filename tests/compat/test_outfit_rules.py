"""Outfit rules over a catalogue: rows per slot for a query, asked categories, clashing pairs, verdicts."""

from __future__ import annotations

import pytest

from outfitter.compat.slots import OutfitSlots
from outfitter.errors import InputError
from outfitter.compat.outfit_rules import OutfitRules, verdict

OUTFITS = ([["tops", "bottoms", "shoes"]] * 8 + [["all-body", "shoes", "bags"]] * 6 + [["tops", "bottoms", "shoes", "bags"]] * 8
           + [["tops", "bottoms", "shoes", "outerwear"]] * 5 + [["all-body", "shoes", "outerwear"]] * 3)
CATEGORIES = ["t-shirt", "pants", "skirt", "dress", "sneakers", "handbag", "coat", "gizmo"]


@pytest.fixture
def rules() -> OutfitRules:
    return OutfitRules.for_categories(OutfitSlots.learn(OUTFITS), CATEGORIES, guess={"gizmo": "bags"})


def test_categories_map_to_slots_by_name_then_by_guess(rules):
    assert rules.category_slots["pants"] == "bottoms" and rules.category_slots["coat"] == "outerwear"
    assert rules.category_slots["gizmo"] == "bags"


def test_a_dress_gets_shoes_bags_outerwear_never_bottoms_tops_or_dresses(rules):
    targets = rules.targets(["all-body"])
    assert list(targets) == ["shoes", "bags", "outerwear"]
    assert targets["bags"] == ["handbag", "gizmo"]


def test_a_top_and_bottom_get_the_rest_most_worn_first(rules):
    assert list(rules.targets(["tops", "bottoms"])) == ["shoes", "bags", "outerwear"]


def test_asked_categories_are_rows_and_unknown_ones_refused(rules):
    assert rules.targets(["tops"], categories=["skirt", "coat"]) == {"skirt": ["skirt"], "coat": ["coat"]}
    with pytest.raises(InputError, match="unknown category 'hats'"):
        rules.targets(["tops"], categories=["hats"])


def test_two_bottoms_or_a_dress_with_trousers_clash(rules):
    assert rules.clashing_pairs(["bottoms", "bottoms", "shoes"]) == [(0, 1)]
    assert rules.clashing_pairs(["all-body", "bottoms"]) == [(0, 1)]
    assert rules.clashing_pairs(["tops", "bottoms", "shoes", None]) == []


def test_without_learned_slots_every_uncovered_category_is_a_row():
    rules = OutfitRules.for_categories(None, ["tops", "shoes"])
    assert rules.targets([None], ["tops"]) == {"shoes": ["shoes"]} and rules.clashing_pairs(["tops", "tops"]) == []


def test_verdicts_follow_calibrated_thresholds():
    thresholds = {"goes well": 0.6, "so-so": 0.4}
    assert [verdict(s, thresholds, False) for s in (0.7, 0.5, 0.3)] == ["goes well", "so-so", "clashes"]
    assert verdict(0.9, thresholds, True) == "clashes" and verdict(0.9, None, False) is None
