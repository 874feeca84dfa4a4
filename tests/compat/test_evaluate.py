"""AUC, FITB and Recall@K against values worked out by hand on tiny cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter.compat import (
    CompatModel,
    ItemTable,
    compatibility_auc,
    complementary_recall_at_k,
    fitb_accuracy,
    fitb_scores,
    outfit_scores,
    recall_at_k,
)
from outfitter.datasets.polyvore_outfits import FITBQuestion

# Pair probabilities by hand, rows = first item, columns = second item.
IDS = ["a", "b", "c", "d", "e"]
P = np.array([
    [0.5, 0.9, 0.8, 0.1, 0.3],
    [0.9, 0.5, 0.7, 0.2, 0.6],
    [0.8, 0.7, 0.5, 0.4, 0.5],
    [0.1, 0.2, 0.4, 0.5, 0.9],
    [0.3, 0.6, 0.5, 0.9, 0.5],
])


class LookupModel(CompatModel):
    """Embeddings are one-hot item codes; the pair score is read from P."""

    kind = "lookup"
    embed_dim = len(IDS)

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.logit(torch.tensor(P, dtype=torch.float64)).float()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def score_logits(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        return self.logits[ea.argmax(1), eb.argmax(1)]


@pytest.fixture
def table() -> ItemTable:
    return ItemTable.dense(IDS, np.eye(len(IDS), dtype=np.float32))


def test_outfit_score_is_the_mean_pairwise_probability(table):
    scores = outfit_scores(LookupModel(), [["a", "b", "c"], ["d", "e"], ["a", "zz"]], table)
    assert scores[0] == pytest.approx((0.9 + 0.8 + 0.7) / 3)
    assert scores[1] == pytest.approx(0.9)
    assert np.isnan(scores[2])


def test_auc_by_hand():
    # Positives 0.9, 0.4; negatives 0.5, 0.1: of 4 (pos, neg) pairs, 3 are ordered right.
    assert compatibility_auc([1, 0, 1, 0], [0.9, 0.5, 0.4, 0.1]) == pytest.approx(0.75)
    assert compatibility_auc([1, 0, 1, 0, 1], [0.9, 0.5, 0.4, 0.1, np.nan]) == pytest.approx(0.75)


def test_fitb_picks_the_best_total_score(table):
    questions = [
        FITBQuestion(["a", "b"], ["c", "d", "e", "a"], correct=0, blank_position=3),  # c: 1.5, d: 0.3, e: 0.9, a: 1.4
        FITBQuestion(["d"], ["a", "b", "c", "e"], correct=2, blank_position=1),  # e wins with 0.9: wrong
    ]
    scores = fitb_scores(LookupModel(), questions, table)
    assert scores[0] == pytest.approx([1.5, 0.3, 0.9, 1.4])
    assert fitb_accuracy(scores, [0, 2]) == pytest.approx(0.5)


def test_fitb_ties_earn_partial_credit():
    assert fitb_accuracy(np.array([[1.0, 1.0, 0.2, 0.1], [0.3, np.nan, 0.9, 0.9]]), [0, 3]) == pytest.approx(0.5)


def test_recall_at_k_by_hand():
    assert recall_at_k(np.array([1, 3, 10, 11]), ks=(1, 10, 30)) == {1: 0.25, 10: 0.75, 30: 1.0}


def test_complementary_recall_ranks_within_the_targets_category(table):
    categories = {"a": "tops", "b": "tops", "c": "shoes", "d": "shoes", "e": "shoes"}
    # Outfit (a, c): target a, query c -> tops a 0.8 vs b 0.7: rank 1. Target c, query a -> c 0.8, d 0.1, e 0.3: rank 1.
    # Outfit (b, d): target b, query d -> a 0.1, b 0.2: rank 1. Target d, query b -> c 0.7, d 0.2, e 0.6: rank 3.
    recall = complementary_recall_at_k(LookupModel(), [["a", "c"], ["b", "d"]], table, categories, ks=(1, 2, 3))
    assert recall == {1: 0.75, 2: 0.75, 3: 1.0}
