"""Training pairs from outfits: positives are an outfit's item pairs, negatives are sampled (seeded, vectorised).

Rows refer to an item table (id -> row). Negative kinds:
- "random", anchored (the original MLP): per positive (i, j), `ratio` pairs (i, n) with n a random item
  of the outfits that is not in i's outfit.
- "random", not anchored (the original PolaniaNet, ratio 6): `ratio` x as many random pairs of the
  outfits' items that are not a positive pair anywhere.
- "same-category" (type-aware): per positive (i, j), `ratio` pairs (i, n) with n an item of j's category
  from another outfit, so the model must judge style rather than category.
With `both_sides`, anchored negatives are also drawn the other way round (j kept, i replaced), so every item of
an outfit is replaced as often as it is kept, whatever its place in the outfit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from outfitter.errors import InputError
from outfitter.types import Outfit

NEGATIVE_KINDS = ("random", "same-category")
MAX_TRIES = 100


@dataclass(frozen=True)
class Pairs:
    """Item-row pairs (a as the first or query item, b as the second) with 0/1 labels."""

    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, order: np.ndarray) -> "Pairs":
        """The pairs at the given positions (a shuffle or a batch)."""
        return Pairs(self.a[order], self.b[order], self.labels[order])


def outfit_rows(outfits: Sequence[Outfit], index: Mapping[str, int]) -> list[np.ndarray]:
    """Each outfit's distinct item rows in outfit order, dropping unknown items and outfits left with < 2."""
    groups = []
    for outfit in outfits:
        rows = list(dict.fromkeys(index[i] for i in outfit.item_ids if i in index))
        if len(rows) >= 2:
            groups.append(np.asarray(rows, dtype=np.int64))
    return groups


def positive_pairs(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, outfit number) for every i<j pair of every outfit, vectorised over outfits of equal size."""
    if not groups:
        raise InputError("no outfit has two known items: nothing to train on", field="outfits")
    sizes = np.array([len(rows) for rows in groups])
    a, b, owner = [], [], []
    for size in np.unique(sizes):
        numbers = np.flatnonzero(sizes == size)
        rows = np.stack([groups[n] for n in numbers])
        i, j = np.triu_indices(size, k=1)
        a.append(rows[:, i].ravel())
        b.append(rows[:, j].ravel())
        owner.append(np.repeat(numbers, len(i)))
    return np.concatenate(a), np.concatenate(b), np.concatenate(owner)


def sample_pairs(
    outfits: Sequence[Outfit],
    index: Mapping[str, int],
    *,
    negatives: str = "random",
    ratio: int = 1,
    anchored: bool = True,
    categories: Mapping[str, str | None] | None = None,
    seed: int = 0,
    both_sides: bool = False,
) -> Pairs:
    """Positives of the outfits and `ratio` negatives per positive, of the given kind (see the module doc)."""
    if negatives not in NEGATIVE_KINDS:
        raise InputError(f"unknown negatives {negatives!r}; expected one of: {', '.join(NEGATIVE_KINDS)}", field="negatives")
    groups = outfit_rows(outfits, index)
    a, b, owner = positive_pairs(groups)
    rng = np.random.default_rng(seed)
    members = _membership(groups)
    pool = np.unique(np.concatenate(groups))
    if negatives == "same-category":
        category_of = _row_categories(groups, index, categories)
        draw = lambda x, y: _same_category(rng, x, y, owner, members, category_of, ratio)  # noqa: E731
    elif anchored:
        draw = lambda x, y: _random_anchored(rng, x, owner, members, pool, ratio)  # noqa: E731
    else:
        draw = lambda x, y: _random_pairs(rng, x, y, pool, ratio)  # noqa: E731
    na, nb = draw(a, b)
    if both_sides and (anchored or negatives == "same-category"):
        nb2, na2 = draw(b, a)
        na, nb = np.concatenate([na, na2]), np.concatenate([nb, nb2])
    labels = np.concatenate([np.ones(len(a), np.float32), np.zeros(len(na), np.float32)])
    return Pairs(np.concatenate([a, na]), np.concatenate([b, nb]), labels)


def _membership(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Sorted codes outfit * width + row of every (outfit, item) membership, and the width used."""
    width = int(max(rows.max() for rows in groups)) + 1
    codes = np.concatenate([number * width + rows for number, rows in enumerate(groups)])
    return np.sort(codes), width


def _is_member(members: tuple[np.ndarray, int], owner: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Whether each row belongs to the outfit numbered owner."""
    codes, width = members
    return _in_sorted(codes, owner * width + rows)


def _in_sorted(sorted_codes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Vectorised membership test against a sorted array (queries sorted first: far fewer cache misses)."""
    order = np.argsort(codes)
    queries = codes[order]
    pos = np.searchsorted(sorted_codes, queries).clip(max=len(sorted_codes) - 1)
    found = np.empty(len(codes), dtype=bool)
    found[order] = sorted_codes[pos] == queries
    return found


def _draw_outside(owners: np.ndarray, members: tuple[np.ndarray, int], draw: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """draw(slots) items for every slot, redrawn while inside the slot's outfit; (items, keep mask)."""
    items = draw(np.arange(len(owners)))
    bad = _is_member(members, owners, items)
    for _ in range(MAX_TRIES):
        slots = np.flatnonzero(bad)
        if not len(slots):
            break
        items[slots] = draw(slots)
        bad[slots] = _is_member(members, owners[slots], items[slots])
    return items, ~bad


def _random_anchored(
    rng: np.random.Generator, a: np.ndarray, owner: np.ndarray, members: tuple[np.ndarray, int], pool: np.ndarray, ratio: int
) -> tuple[np.ndarray, np.ndarray]:
    """(anchor, random item outside the anchor's outfit), ratio per positive."""
    anchors, owners = np.repeat(a, ratio), np.repeat(owner, ratio)
    negatives, keep = _draw_outside(owners, members, lambda slots: pool[rng.integers(len(pool), size=len(slots))])
    return anchors[keep], negatives[keep]


def _random_pairs(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, pool: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
    """ratio x len(a) random pairs of distinct pool items that are not a positive pair."""
    width = int(pool.max()) + 1
    positives = np.sort(np.minimum(a, b) * width + np.maximum(a, b))

    def bad(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u == v) | _in_sorted(positives, np.minimum(u, v) * width + np.maximum(u, v))

    u, v = (pool[rng.integers(len(pool), size=ratio * len(a))] for _ in range(2))
    wrong = bad(u, v)
    for _ in range(MAX_TRIES):
        slots = np.flatnonzero(wrong)
        if not len(slots):
            break
        u[slots], v[slots] = (pool[rng.integers(len(pool), size=len(slots))] for _ in range(2))
        wrong[slots] = bad(u[slots], v[slots])
    return u[~wrong], v[~wrong]


def _row_categories(groups: Sequence[np.ndarray], index: Mapping[str, int], categories: Mapping[str, str | None] | None) -> dict[int, str | None]:
    """Row -> category of every item in the outfits."""
    if categories is None:
        raise InputError("same-category negatives need the items' categories", field="negatives")
    rows = set(np.concatenate(groups).tolist())
    return {row: categories.get(item_id) for item_id, row in index.items() if row in rows}


def _same_category(
    rng: np.random.Generator,
    a: np.ndarray,
    b: np.ndarray,
    owner: np.ndarray,
    members: tuple[np.ndarray, int],
    category_of: dict[int, str | None],
    ratio: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(anchor, item of the positive's category from another outfit), ratio per positive."""
    pool = np.fromiter(sorted(category_of), dtype=np.int64)
    names = sorted({str(c) for c in category_of.values()})
    code = {name: k for k, name in enumerate(names)}
    pool_codes = np.array([code[str(category_of[row])] for row in pool], dtype=np.int64)
    order = np.argsort(pool_codes, kind="stable")
    by_category, counts = pool[order], np.bincount(pool_codes, minlength=len(names))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    anchors, owners = np.repeat(a, ratio), np.repeat(owner, ratio)
    target = pool_codes[np.searchsorted(pool, np.repeat(b, ratio))]

    def draw(slots: np.ndarray) -> np.ndarray:
        cats = target[slots]
        return by_category[starts[cats] + (rng.random(len(slots)) * counts[cats]).astype(np.int64)]

    negatives, keep = _draw_outside(owners, members, draw)
    return anchors[keep], negatives[keep]
