"""Pair sampling: positives, each negative kind's rule, ratio and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from outfitter.compat.pairs import sample_pairs
from outfitter.errors import InputError
from outfitter.types import Outfit

CATS = ["tops", "bottoms", "shoes"]
OUTFITS = [Outfit(f"s{o}", tuple(f"i{o}{c}" for c in range(3))) for o in range(6)]
INDEX = {f"i{o}{c}": 3 * o + c for o in range(6) for c in range(3)}
CATEGORIES = {f"i{o}{c}": CATS[c] for o in range(6) for c in range(3)}
OUTFIT_OF = {row: row // 3 for row in INDEX.values()}


def positives(pairs):
    pos = pairs.labels == 1
    return pairs.a[pos], pairs.b[pos]


def negatives(pairs):
    neg = pairs.labels == 0
    return pairs.a[neg], pairs.b[neg]


def test_positives_are_every_ordered_pair_within_an_outfit():
    a, b = positives(sample_pairs(OUTFITS, INDEX, seed=0))
    assert len(a) == 6 * 3
    assert set(zip(a.tolist(), b.tolist())) == {(3 * o + i, 3 * o + j) for o in range(6) for i in range(3) for j in range(i + 1, 3)}


def test_random_anchored_negatives_leave_the_anchors_outfit():
    pairs = sample_pairs(OUTFITS, INDEX, negatives="random", ratio=2, seed=0)
    a, n = negatives(pairs)
    assert len(a) == 2 * 18
    assert all(OUTFIT_OF[x] != OUTFIT_OF[y] for x, y in zip(a, n))


def test_random_pairs_are_not_positive_pairs():
    pairs = sample_pairs(OUTFITS, INDEX, negatives="random", ratio=6, anchored=False, seed=0)
    u, v = negatives(pairs)
    assert len(u) == 6 * 18
    assert all(x != y and OUTFIT_OF[x] != OUTFIT_OF[y] for x, y in zip(u, v))


def test_same_category_negatives_share_the_positives_category():
    pairs = sample_pairs(OUTFITS, INDEX, negatives="same-category", ratio=3, categories=CATEGORIES, seed=0)
    pa, pb = positives(pairs)
    a, n = negatives(pairs)
    assert np.array_equal(a, np.repeat(pa, 3))
    assert all(x % 3 == y % 3 for x, y in zip(np.repeat(pb, 3), n))
    assert all(OUTFIT_OF[x] != OUTFIT_OF[y] for x, y in zip(a, n))


def test_sampling_is_deterministic_per_seed():
    one, two = (sample_pairs(OUTFITS, INDEX, ratio=4, seed=s) for s in (3, 3))
    other = sample_pairs(OUTFITS, INDEX, ratio=4, seed=4)
    assert np.array_equal(one.b, two.b) and not np.array_equal(one.b, other.b)


def test_bad_requests_are_input_errors():
    with pytest.raises(InputError, match="unknown negatives"):
        sample_pairs(OUTFITS, INDEX, negatives="hard")
    with pytest.raises(InputError, match="categories"):
        sample_pairs(OUTFITS, INDEX, negatives="same-category")
    with pytest.raises(InputError, match="nothing to train"):
        sample_pairs([Outfit("x", ("i00",))], INDEX)
