"""Fine-tune a backbone on a catalogue's own categories (`outfitter tune`), for better similar-item search.

The base backbone's early stages stay frozen and run once per photo (and its mirror image); its last stages
and a linear projection are retrained with a cosine-softmax classifier over the categories. A held-out part
of the catalogue measures category precision@10 of the backbone the user has today and of the tuned one, so the
gain (or its absence) is reported, not assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from outfitter.backbones import create_backbone, get_spec
from outfitter.backbones.tuned import TunedNet, save_tuned, tuned_net
from outfitter.config import DECODE_SIDE, DEFAULT_BACKBONE
from outfitter.errors import InputError
from outfitter.pipeline.stages import ImageReader, collate
from outfitter.search.metrics import category_precision_at_k
from outfitter.types import Item


@dataclass(frozen=True)
class TuneSettings:
    """Hyper-parameters of a tuning run (defaults measured on clothing photos: see benchmarks/similar_quality.py)."""

    dim: int = 256
    epochs: int = 6
    batch_size: int = 64
    lr_head: float = 2e-4
    lr_proj: float = 2e-3
    weight_decay: float = 1e-4
    scale: float = 20.0
    label_smoothing: float = 0.1
    hard_negatives: float = 0.0
    """Weight of a batch-hard triplet term added to the classifier's loss (0: none; see `batch_hard_triplet`). At 1
    on clothing-small: precision@10 +1 to +2 points, precision@1 -1.6, no gain once queries are expanded."""
    holdout: float = 0.1
    seed: int = 0


@dataclass
class TuneReport:
    """What tuning produced: the file; held-out precision of the base's features (`before`), of the tuned backbone
    (`after`) and of the backbone the user has today (`current`, on the same photos); the loss per epoch."""

    path: Path
    before: dict[int, float]
    after: dict[int, float]
    losses: list[float] = field(default_factory=list)
    current: dict[int, float] = field(default_factory=dict)
    current_backbone: str | None = None

    @property
    def helped(self) -> bool:
        """Whether the tuned backbone beats the one the user has (precision@10 on the held-out photos)."""
        return self.after.get(10, 0.0) > self.current.get(10, self.before.get(10, 0.0))


def tune_backbone(items: Sequence[Item], out: str | Path, *, base: str = "efficientnet_lite0",
                  settings: TuneSettings = TuneSettings(), workers: int = 0, progress: bool = True,
                  current: str | None = DEFAULT_BACKBONE) -> TuneReport:
    """Tune `base` on the categories of `items` and save it to `out` (usable as `--backbone out`); the held-out
    photos also measure `current`, the backbone the user's store has today, so the report compares like with like."""
    items = [it for it in items if it.category]
    classes = sorted({it.category for it in items})
    if len(classes) < 2:
        raise InputError("tuning needs photos of at least two categories", field="category")
    torch.manual_seed(settings.seed)
    net = tuned_net(base, settings.dim)
    stems, labels, kept = stem_views(net, items, classes, base=base, workers=workers, progress=progress)
    train_rows, held_rows = stratified_split(labels, settings.holdout, settings.seed)
    before = _precision(lambda x: net.head(x).flatten(1), stems, labels, held_rows)
    today = _current_precision(current, [items[kept[r]] for r in held_rows], labels[held_rows]) if current else {}
    losses = _train(net, stems[train_rows], labels[train_rows], len(classes), settings, progress)
    after = _precision(lambda x: net.proj(net.head(x).flatten(1)), stems, labels, held_rows)
    meta = {"classes": classes, "before": before, "after": after, "current": {"backbone": current, "precision": today},
            "settings": settings.__dict__, "source": f"{len(items)} photos in {len(classes)} categories"}
    return TuneReport(save_tuned(out, net, base, meta), before, after, losses, today, current)


def _current_precision(backbone_name: str, held: list[Item], labels: np.ndarray) -> dict[int, float]:
    """Held-out category precision@K of the user's current backbone on the held-out photos."""
    if len(held) < 2:
        return {}
    backbone = create_backbone(backbone_name)
    loader = DataLoader(ImageReader(held, backbone.preprocess.reader(DECODE_SIDE)), batch_size=32, collate_fn=collate)
    vectors, rows = [], []
    with torch.inference_mode():
        for indices, batch, _ in loader:
            if batch is not None:
                vectors.append(backbone.embed_pixels(batch))
                rows += indices
    found = category_precision_at_k(np.concatenate(vectors), labels[rows], (1, 5, 10))
    return {k: round(float(v), 4) for k, v in found.items()}


def stem_views(net: TunedNet, items: Sequence[Item], classes: list[str], *, base: str, workers: int,
               progress: bool) -> tuple[torch.Tensor, np.ndarray, list[int]]:
    """Frozen-stem features [N, 2, C, H, W] (float16) of each readable photo and its mirror, class labels, and
    which of `items` the rows are."""
    preprocess = get_spec(base).preprocess
    loader = DataLoader(ImageReader(items, preprocess.reader(DECODE_SIDE)), batch_size=32, num_workers=workers,
                        collate_fn=collate)
    feats, rows = [], []
    with Progress(disable=not progress) as bar, torch.inference_mode():
        task = bar.add_task("frozen features", total=len(items))
        for indices, batch, failed in loader:
            if batch is not None:
                batch = preprocess.from_pixels(batch)
                both = net.stem(torch.cat([batch, batch.flip(-1)]))
                feats.append(torch.stack(both.chunk(2), 1).half())
                rows += indices
            bar.advance(task, len(indices) + len(failed))
    if not rows:
        raise InputError("no readable photos to tune on")
    labels = np.array([classes.index(items[i].category) for i in rows])
    return torch.cat(feats), labels, rows


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows for training and a held-out share of each class (at least one photo of classes with 3 or more)."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == c))
        held += rows[: int(round(fraction * len(rows))) or (1 if len(rows) >= 3 else 0)].tolist()
    held = np.sort(held).astype(np.int64)
    return np.setdiff1d(np.arange(len(labels)), held), held


@torch.no_grad()
def _precision(embed, stems: torch.Tensor, labels: np.ndarray, rows: np.ndarray) -> dict[int, float]:
    """Held-out category precision@K of the given embedding of the unmirrored view."""
    if len(rows) < 2:
        return {}
    vectors = torch.cat([F.normalize(embed(stems[rows[s:s + 256], 0].float()), dim=1)
                         for s in range(0, len(rows), 256)])
    return {k: round(float(v), 4) for k, v in category_precision_at_k(vectors.numpy(), labels[rows], (1, 5, 10)).items()}


def _train(net: TunedNet, stems: torch.Tensor, labels: np.ndarray, n_classes: int, settings: TuneSettings,
           progress: bool) -> list[float]:
    """Cosine-softmax training of head and projection on random views; BatchNorm statistics stay frozen."""
    centers = nn.Parameter(torch.randn(n_classes, settings.dim) * 0.01)
    groups = [{"params": net.head.parameters(), "lr": settings.lr_head},
              {"params": [*net.proj.parameters(), centers], "lr": settings.lr_proj}]
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    steps = max(1, len(labels) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[settings.lr_head, settings.lr_proj],
                                                   total_steps=settings.epochs * steps, pct_start=0.15)
    rng = np.random.default_rng(settings.seed)
    y = torch.from_numpy(labels)
    net.eval()
    losses = []
    with Progress(disable=not progress) as bar:
        task = bar.add_task("tuning", total=settings.epochs * steps)
        for _ in range(settings.epochs):
            order, total = rng.permutation(len(labels)), 0.0
            for s in range(steps):
                rows = torch.from_numpy(order[s * settings.batch_size:(s + 1) * settings.batch_size])
                views = torch.from_numpy(rng.integers(0, 2, len(rows)))
                z = F.normalize(net.proj(net.head(stems[rows, views].float()).flatten(1)), dim=1)
                logits = settings.scale * z @ F.normalize(centers, dim=1).T
                loss = F.cross_entropy(logits, y[rows], label_smoothing=settings.label_smoothing)
                if settings.hard_negatives:
                    loss = loss + settings.hard_negatives * batch_hard_triplet(z, y[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item()
                bar.advance(task)
            losses.append(round(total / steps, 4))
    return losses


def batch_hard_triplet(z: torch.Tensor, labels: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """max(0, m + s(nearest other category) - s(farthest same category)), s the cosine of unit vectors `z`, averaged
    over the batch's photos that have both: the hardest pair each way (batch-hard, Hermans et al. 2017)."""
    sim = z @ z.T
    same = labels[:, None] == labels[None, :]
    itself = torch.eye(len(labels), dtype=torch.bool, device=z.device)
    hardest_positive = sim.masked_fill(~same | itself, 2.0).min(1).values
    hardest_negative = sim.masked_fill(same, -2.0).max(1).values
    anchors = (same & ~itself).any(1) & (~same).any(1)
    if not anchors.any():
        return z.sum() * 0.0
    return F.relu(margin + hardest_negative - hardest_positive)[anchors].mean()
