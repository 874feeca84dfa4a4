"""Match strength in words, calibrated per catalogue: a raw cosine of 0.93 means little (with one backbone every
pair of garments scores above 0.8, with another 0.6 is close), so a score is read against the store itself.

With categories, the scale asks what a score says about the kind of item: sampled items' nearest neighbours
(with their scores) show how often a neighbour that close is of the same category. "Very similar" starts at the
score where 9 neighbours in 10 share the item's category, "similar" where 6 in 10 do; below that a hit is
"loosely related" (a photo of something the shop does not sell lands there). A store without categories is read
against random pairs of its items instead: closer than 99% of them is very similar, than 90% similar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outfitter.catalog.store import CatalogStore
from outfitter.search.base import Index

SAMPLE = 256  # items whose neighbourhoods set the scale
NEIGHBOURS = 50
VERY_PRECISION, SIMILAR_PRECISION = 0.9, 0.6
LABELS = ("very similar", "similar", "loosely related")


@dataclass(frozen=True)
class MatchScale:
    """Two score thresholds of one catalogue: very similar >= `very`, similar >= `similar`."""

    very: float
    similar: float
    items: int  # live items when measured (a scale is reused while the catalogue stays about this size)

    def label(self, score: float) -> str:
        """The score in words."""
        return LABELS[0] if score >= self.very else LABELS[1] if score >= self.similar else LABELS[2]

    def fits(self, items: int) -> bool:
        """Whether the scale still describes a catalogue now holding `items` (within 10% of its size then)."""
        return abs(items - self.items) <= 0.1 * self.items

    @classmethod
    def fit(cls, index: Index, store: CatalogStore, *, sample: int = SAMPLE, seed: int = 0) -> "MatchScale | None":
        """Measure the scale on up to `sample` random live items of `store`, searched with `index`; None for a
        catalogue too small to have neighbourhoods (under 3 items)."""
        ids = store.ids()
        if len(ids) < 3:
            return None
        rng = np.random.default_rng(seed)
        picked = [ids[i] for i in rng.choice(len(ids), size=min(sample, len(ids)), replace=False)]
        queries = np.stack([store.vector(i) for i in picked])
        if len(np.unique(store.all_categories())) > 1:
            scale = _by_category(index, store, picked, queries, len(ids))
            if scale is not None:
                return scale
        others = np.stack([store.vector(ids[i]) for i in rng.choice(len(ids), size=len(picked))])
        pairs = np.sum(queries * others, axis=1)
        return cls(float(np.percentile(pairs, 99)), float(np.percentile(pairs, 90)), len(ids))


def _by_category(index: Index, store: CatalogStore, picked: list[str], queries: np.ndarray,
                 items: int) -> MatchScale | None:
    """Thresholds where a neighbour that close shares the item's category with probability VERY_PRECISION and
    SIMILAR_PRECISION: that probability as a non-decreasing function of the score, fitted by isotonic regression
    on the sampled items' neighbours (None when even the closest neighbours mostly differ in category)."""
    from sklearn.isotonic import IsotonicRegression

    found = index.search(queries, min(NEIGHBOURS, items - 1), exclude=[{i} for i in picked])
    codes = store.all_categories()  # category codes by row: no metadata read per neighbour
    scores, same = [], []
    for item_id, hits in zip(picked, found):
        code = codes[store.row(item_id)]
        scores += [score for _, score in hits]
        same += [codes[store.row(hit)] == code for hit, _ in hits]
    scores = np.asarray(scores)
    chance = IsotonicRegression(out_of_bounds="clip").fit(scores, np.asarray(same, float)).predict(scores)
    very, similar = (scores[chance >= p].min() if (chance >= p).any() else None
                     for p in (VERY_PRECISION, SIMILAR_PRECISION))
    return None if very is None or similar is None else MatchScale(float(very), float(similar), items)
