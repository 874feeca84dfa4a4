"""Compatibility metrics (SPEC section 3) computed from model scores alone, never from set ids.

Outfit score = mean pairwise probability over its item pairs (earlier item first); FITB picks the answer
with the best total score against the question items; complementary Recall@K ranks each held-out item
among all items of its category, the outfit's other items as the query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from outfitter.compat.base import CompatModel, ItemTable, embed_table
from outfitter.compat.checkpoint import load_model
from outfitter.compat.features import item_inputs
from outfitter.compat.plots import plot_roc
from outfitter.compat.ranker import ComplementaryRanker
from outfitter.datasets.polyvore_outfits import FITBQuestion
from outfitter.datasets.source import OutfitSource
from outfitter.errors import InputError

RECALL_KS = (10, 30, 50)
PAIR_BATCH = 65536


@torch.no_grad()
def pair_probabilities(model: CompatModel, embeddings: ItemTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Probabilities [P] of the embedding-row pairs (a[i] first, b[i] second), in batches."""
    model.eval()
    vectors = embeddings.vectors
    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), PAIR_BATCH):
        end = start + PAIR_BATCH
        ea = torch.from_numpy(np.asarray(vectors[a[start:end]], dtype=np.float32))
        eb = torch.from_numpy(np.asarray(vectors[b[start:end]], dtype=np.float32))
        out[start:end] = model.score(ea, eb).numpy()
    return out


def outfit_scores(model: CompatModel, outfits: Sequence[Sequence[str]], embeddings: ItemTable) -> np.ndarray:
    """Mean pairwise probability of each outfit's known items (NaN for an outfit with fewer than two)."""
    a, b, owner = [], [], []
    for number, ids in enumerate(outfits):
        rows = embeddings.rows_of([i for i in ids if i in embeddings])
        i, j = np.triu_indices(len(rows), k=1)
        a.append(rows[i])
        b.append(rows[j])
        owner.append(np.full(len(i), number))
    a, b, owner = (np.concatenate(x).astype(np.int64) if x else np.zeros(0, np.int64) for x in (a, b, owner))
    probs = pair_probabilities(model, embeddings, a, b)
    counts = np.bincount(owner, minlength=len(outfits))
    totals = np.bincount(owner, weights=probs, minlength=len(outfits))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def compatibility_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """ROC AUC of outfit scores against 0/1 labels, leaving out unscored (NaN) outfits."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    keep = ~np.isnan(scores)
    if len(np.unique(labels[keep])) < 2:
        raise InputError("AUC needs both compatible and incompatible outfits", field="labels")
    return float(roc_auc_score(labels[keep], scores[keep]))


def fitb_scores(model: CompatModel, questions: Sequence[FITBQuestion], embeddings: ItemTable) -> np.ndarray:
    """[Q, answers] total probability of each answer (second) with each known question item (first)."""
    a, b, slot = [], [], []
    width = max((len(q.answers) for q in questions), default=0)
    scores = np.full((len(questions), width), np.nan)
    for number, question in enumerate(questions):
        shown = embeddings.rows_of([i for i in question.question if i in embeddings])
        for k, answer in enumerate(question.answers):
            if answer in embeddings:
                a.append(shown)
                b.append(np.full(len(shown), embeddings.index[answer]))
                slot.append(np.full(len(shown), number * width + k))
    if a:
        probs = pair_probabilities(model, embeddings, np.concatenate(a), np.concatenate(b))
        slots = np.concatenate(slot)
        totals = np.bincount(slots, weights=probs, minlength=scores.size)
        seen = np.unique(slots)
        scores.flat[seen] = totals[seen]
    return scores


def fitb_accuracy(scores: np.ndarray, correct: Sequence[int]) -> float:
    """Share of questions whose right answer has the best score; a tie of t answers earns 1/t (random pick).

    Unscored answers (NaN) never win; a question with no scored answer counts as wrong.
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    correct = np.asarray(correct)
    best = scores.max(axis=1, keepdims=True)
    winners = (scores == best) & np.isfinite(best)
    right = winners[np.arange(len(correct)), correct]
    return float(np.mean(np.where(right, 1.0 / np.maximum(winners.sum(1), 1), 0.0))) if len(correct) else float("nan")


def complementary_ranks(
    model: CompatModel,
    outfits: Sequence[Sequence[str]],
    embeddings: ItemTable,
    categories: Mapping[str, str | None],
    *,
    max_targets: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """1-based rank of each held-out item among the embedded items of its category (ties count against it)."""
    ranker = ComplementaryRanker(model, embeddings.vectors)
    by_category = _rows_by_category(embeddings, categories)
    ranks = []
    for ids, target in _targets(outfits, embeddings, categories, max_targets, seed):
        query = embeddings.vectors[embeddings.rows_of([i for i in ids if i != target and i in embeddings])]
        candidates = by_category[categories[target]]
        scores = ranker.scores(query, candidates)
        own = scores[np.searchsorted(candidates, embeddings.index[target])]
        ranks.append(int((scores >= own).sum()))
    return np.asarray(ranks, dtype=np.int64)


def _rows_by_category(embeddings: ItemTable, categories: Mapping[str, str | None]) -> dict[str, np.ndarray]:
    """Sorted embedding rows of each category's items."""
    groups: dict[str, list[int]] = {}
    for item_id, row in embeddings.index.items():
        category = categories.get(item_id)
        if category is not None:
            groups.setdefault(category, []).append(row)
    return {category: np.sort(np.asarray(rows, dtype=np.int64)) for category, rows in groups.items()}


def _targets(
    outfits: Sequence[Sequence[str]], embeddings: ItemTable, categories: Mapping[str, str | None],
    max_targets: int | None, seed: int,
) -> list[tuple[Sequence[str], str]]:
    """(outfit, held-out item) for every embedded, categorised item of an outfit with another embedded item."""
    targets = []
    for ids in outfits:
        known = [i for i in dict.fromkeys(ids) if i in embeddings]
        if len(known) >= 2:
            targets.extend((known, target) for target in known if categories.get(target) is not None)
    if max_targets is not None and len(targets) > max_targets:
        keep = np.sort(np.random.default_rng(seed).choice(len(targets), size=max_targets, replace=False))
        targets = [targets[k] for k in keep]
    return targets


def recall_at_k(ranks: np.ndarray, ks: Sequence[int] = RECALL_KS) -> dict[int, float]:
    """Share of targets ranked within the top K, for each K."""
    ranks = np.asarray(ranks)
    return {k: float(np.mean(ranks <= k)) if len(ranks) else float("nan") for k in ks}


def complementary_recall_at_k(
    model: CompatModel,
    outfits: Sequence[Sequence[str]],
    embeddings: ItemTable,
    categories: Mapping[str, str | None],
    ks: Sequence[int] = RECALL_KS,
    *,
    max_targets: int | None = None,
    seed: int = 0,
) -> dict[int, float]:
    """Recall@K of complementary retrieval within the target's category (see complementary_ranks)."""
    ranks = complementary_ranks(model, outfits, embeddings, categories, max_targets=max_targets, seed=seed)
    return recall_at_k(ranks, ks)


def evaluate(
    dataset: OutfitSource,
    split: str,
    checkpoint_path: str | Path,
    cache_dir: str | Path | None = None,
    *,
    roc_path: str | Path | None = None,
    max_recall_targets: int | None = None,
    weights: str | Path | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """AUC, FITB accuracy and Recall@10/30/50 of a checkpoint on one split; optionally an ROC-curve PNG.

    Recall ranks every held-out item of the split against its whole category; on the full test split
    that is hours for PolaniaNet on a CPU, so max_recall_targets samples that many targets (seeded).
    """
    model, _ = load_model(checkpoint_path)
    items = dataset.items(split)
    inputs = item_inputs(model, items, cache_dir, weights=weights, num_workers=num_workers, progress=progress)
    embeddings = embed_table(model, inputs)
    labels, outfits = zip(*dataset.compatibility(split))
    scores = outfit_scores(model, outfits, embeddings)
    if roc_path is not None:
        plot_roc(labels, scores, roc_path)
    questions = dataset.fitb(split)
    categories = {item.item_id: item.category for item in items}
    recall = complementary_recall_at_k(
        model, [o.item_ids for o in dataset.outfits(split)], embeddings, categories, max_targets=max_recall_targets
    )
    return {
        "auc": compatibility_auc(labels, scores),
        "fitb_accuracy": fitb_accuracy(fitb_scores(model, questions, embeddings), [q.correct for q in questions]),
        **{f"recall@{k}": value for k, value in recall.items()},
    }
