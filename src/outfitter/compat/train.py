"""Train a compatibility model on Polyvore Outfits: cached item inputs, sampled pairs, early stopping.

Per epoch: one pass over the training pairs (only the trainable part runs; frozen features come from the
cache), the BCE on held-out pairs (validation loss, which early stopping watches, as in the original
PolaniaNet) and the AUC on the valid split's compatibility questions. The best epoch's weights are the
checkpoint; a training-curve PNG is written beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import track

from outfitter.compat.base import CompatModel, ItemTable, embed_table
from outfitter.compat.checkpoint import save_checkpoint
from outfitter.compat.evaluate import compatibility_auc, outfit_scores
from outfitter.compat.features import item_inputs
from outfitter.compat.losses import PairLoss
from outfitter.compat.pairs import Pairs, sample_pairs
from outfitter.compat.plots import plot_training_curves
from outfitter.compat.registry import get_kind
from outfitter.compat.slots import OutfitSlots, slot_for_name
from outfitter.datasets.source import OutfitSource
from outfitter.types import Outfit

log = logging.getLogger(__name__)

HOLDOUT_FRACTION = 0.2
EVAL_BATCH = 4096


@dataclass
class TrainResult:
    """What a training run produced: per-epoch history, the best epoch, and the files written."""

    checkpoint: Path
    curves: Path
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def best(self) -> dict[str, float]:
        """The history row of the best epoch."""
        return next(row for row in self.history if row["epoch"] == self.best_epoch)


def train(
    dataset: OutfitSource,
    *,
    model: str = "mlp",
    backbone: str = "efficientnet_lite0",
    out: str | Path,
    epochs: int | None = None,
    max_outfits: int | None = None,
    negatives: str | None = None,
    ratio: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    patience: int = 3,
    seed: int = 42,
    cache_dir: str | Path | None = None,
    weights: str | Path | None = None,
    image_size: int | None = None,
    valid_limit: int | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> TrainResult:
    """Train a model of a registered kind ("mlp", "polania", "garment", ...) and write its best checkpoint to `out`.

    None for epochs, max_outfits, negatives, ratio, batch_size or lr means the kind's recipe. valid_limit caps
    the valid-split compatibility questions scored each epoch (None: all). The checkpoint's meta also holds the
    outfit slots learned from the training outfits (which kinds of item are worn together).
    """
    kind = get_kind(model)
    given = {"epochs": epochs, "max_outfits": max_outfits, "negatives": negatives, "ratio": ratio,
             "batch_size": batch_size, "lr": lr}
    settings = {
        **asdict(kind.recipe),
        **{key: value for key, value in given.items() if value is not None},
        "model": model, "backbone": backbone, "patience": patience, "seed": seed, "image_size": image_size,
    }
    torch.manual_seed(seed)
    net = kind.fresh(backbone, weights=weights, image_size=image_size)
    data = _prepare(dataset, net, settings, cache_dir, weights, valid_limit, num_workers, progress)
    return _fit(net, data, settings, Path(out), progress)


def build_model(kind: str, backbone: str, *, weights: str | Path | None = None, image_size: int | None = None) -> CompatModel:
    """A fresh model of the given kind on the given backbone."""
    return get_kind(kind).fresh(backbone, weights=weights, image_size=image_size)


def learn_slots(dataset: OutfitSource, outfits: Sequence[Outfit]) -> OutfitSlots:
    """Which slots people wear together in these outfits (items whose category names no slot are left out)."""
    slot_of = {item.item_id: slot_for_name(item.category or "") for item in dataset.items()}
    return OutfitSlots.learn([[slot_of[i] for i in o.item_ids if slot_of.get(i)] for o in outfits])


@dataclass
class _Data:
    """Everything an epoch needs: item inputs, training and held-out pairs, and the validation questions."""

    inputs: ItemTable
    train: Pairs
    holdout: Pairs
    labels: list[int]
    questions: list[list[str]]
    slots: OutfitSlots
    resample: Callable[[int], Pairs] | None = None


def _prepare(
    dataset: OutfitSource, net: CompatModel, settings: dict[str, Any], cache_dir: str | Path | None,
    weights: str | Path | None, valid_limit: int | None, num_workers: int, progress: bool,
) -> _Data:
    """Select outfits, compute (or load) item inputs once, and sample the pairs."""
    chosen, held = _fit_and_holdout(dataset, settings)
    compatibility = dataset.compatibility("valid")[:valid_limit]
    wanted = {i for o in chosen + held for i in o.item_ids} | {i for _, ids in compatibility for i in ids}
    items = [item for item in dataset.items() if item.item_id in wanted]
    inputs = item_inputs(net, items, cache_dir, weights=weights, num_workers=num_workers, progress=progress)
    categories = {item.item_id: item.category for item in items}
    options = {key: settings[key] for key in ("negatives", "ratio", "anchored", "both_sides")}

    def draw(seed: int, outfits: Sequence[Outfit] = chosen) -> Pairs:
        return sample_pairs(outfits, inputs.index, categories=categories, seed=seed, **options)

    return _Data(
        inputs=inputs,
        train=draw(settings["seed"]),
        holdout=draw(settings["seed"] + 1, held),
        labels=[label for label, _ in compatibility],
        questions=[ids for _, ids in compatibility],
        slots=learn_slots(dataset, chosen + held),
        resample=(lambda epoch: draw(settings["seed"] + 1000 * epoch)) if settings["resample"] else None,
    )


def _fit_and_holdout(dataset: OutfitSource, settings: dict[str, Any]) -> tuple[list[Outfit], list[Outfit]]:
    """Outfits to fit, and outfits whose pairs early stopping watches: a fifth of train, or the valid split."""
    if settings["holdout"] == "valid":
        return usable_outfits(dataset.outfits("train"), settings["max_outfits"]), usable_outfits(dataset.outfits("valid"))
    return split_outfits(dataset.outfits("train"), settings["max_outfits"], settings["seed"])


def usable_outfits(outfits: Sequence[Outfit], max_outfits: int | None = None) -> list[Outfit]:
    """The first max_outfits outfits with at least two items (a pair to learn from)."""
    return [o for o in outfits if len(o.item_ids) >= 2][:max_outfits]


def split_outfits(outfits: Sequence[Outfit], max_outfits: int | None, seed: int) -> tuple[list[Outfit], list[Outfit]]:
    """The first max_outfits outfits with >= 2 items, shuffled (seeded) into 80% training and 20% held out."""
    usable = usable_outfits(outfits, max_outfits)
    order = np.random.default_rng(seed).permutation(len(usable))
    cut = len(usable) - max(1, round(HOLDOUT_FRACTION * len(usable)))
    return [usable[k] for k in order[:cut]], [usable[k] for k in order[cut:]]


def _fit(net: CompatModel, data: _Data, settings: dict[str, Any], out: Path, progress: bool) -> TrainResult:
    """The epoch loop with early stopping on validation loss; saves the best checkpoint as it goes."""
    loss_fn: PairLoss = get_kind(net.kind).loss()
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=settings["lr"],
                                 weight_decay=settings["weight_decay"])
    rng = np.random.default_rng(settings["seed"])
    torch.manual_seed(settings["seed"])
    history: list[dict[str, float]] = []
    best_epoch, best_loss, waited = 0, float("inf"), 0
    for epoch in range(1, settings["epochs"] + 1):
        train_loss = _train_epoch(net, data, loss_fn, optimizer, rng, settings["batch_size"], epoch, progress)
        row = {"epoch": epoch, "train_loss": train_loss, **_validate(net, data)}
        history.append(row)
        log.info("epoch %d: train loss %.4f, valid loss %.4f, valid AUC %.4f", epoch, train_loss, row["valid_loss"], row["valid_auc"])
        if row["valid_loss"] < best_loss:
            best_epoch, best_loss, waited = epoch, row["valid_loss"], 0
            save_checkpoint(net, out, {"hyperparameters": settings, "metrics": row, "history": history,
                                       "slots": data.slots.to_dict()})
        else:
            waited += 1
            if waited >= settings["patience"]:
                break
    curves = plot_training_curves(history, out.with_name(f"{out.stem}-curves.png"))
    return TrainResult(checkpoint=out, curves=curves, best_epoch=best_epoch, history=history)


def _train_epoch(
    net: CompatModel, data: _Data, loss_fn: PairLoss, optimizer: torch.optim.Optimizer,
    rng: np.random.Generator, batch_size: int, epoch: int, progress: bool,
) -> float:
    """One shuffled pass over the training pairs; returns the mean batch objective (data term + priors)."""
    net.train()
    pairs = data.resample(epoch) if data.resample is not None and epoch > 1 else data.train
    pairs = pairs.take(rng.permutation(len(pairs)))
    total = 0.0
    for rows in track(batches(len(pairs), batch_size), description=f"epoch {epoch}", disable=not progress, transient=True):
        batch = pairs.take(rows)
        loss = loss_fn(_pair_logits(net, data.inputs, batch), torch.from_numpy(batch.labels), net)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(pairs)


def batches(count: int, batch_size: int) -> list[np.ndarray]:
    """Consecutive index batches; a final batch of one joins the previous one (BatchNorm needs two)."""
    bounds = list(range(0, count, batch_size)) + [count]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return [np.arange(start, end) for start, end in zip(bounds[:-1], bounds[1:])]


def _pair_logits(net: CompatModel, inputs: ItemTable, batch: Pairs) -> torch.Tensor:
    """Logits of a batch of pairs, each distinct item embedded once."""
    rows, inverse = np.unique(np.concatenate([batch.a, batch.b]), return_inverse=True)
    embeddings = net.embed(*inputs.take(rows))
    index = torch.from_numpy(inverse)
    return net.score_logits(embeddings[index[: len(batch)]], embeddings[index[len(batch) :]])


@torch.no_grad()
def _validate(net: CompatModel, data: _Data) -> dict[str, float]:
    """BCE on the held-out pairs and AUC on the validation compatibility questions (eval mode)."""
    net.eval()
    losses = []
    for start in range(0, len(data.holdout), EVAL_BATCH):
        batch = data.holdout.take(np.arange(start, min(start + EVAL_BATCH, len(data.holdout))))
        logits = _pair_logits(net, data.inputs, batch)
        losses.append(F.binary_cross_entropy_with_logits(logits, torch.from_numpy(batch.labels), reduction="sum"))
    valid_ids = {i for ids in data.questions for i in ids}
    embeddings = embed_table(net, data.inputs.subset(sorted(valid_ids)))
    scores = outfit_scores(net, data.questions, embeddings)
    return {"valid_loss": float(sum(losses)) / len(data.holdout), "valid_auc": compatibility_auc(data.labels, scores)}
