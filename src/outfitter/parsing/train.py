"""Train the garment parser's decoder on labelled street photos, over encoder features computed once.

Each photo is seen as several fixed views (as it is, mirrored, and zoomed on its middle); the frozen encoder's
features of every view are kept in memory as float16, so an epoch only runs the retrained blocks and the
decoder. Product shots (one garment, no person, no mask) can join the street photos with a weaker label, so
that the parser learns a floor or a bed sheet is not skin. Scores are the field's:
intersection over union per class, from a confusion matrix over all pixels of a split (padding excluded).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from outfitter.backbones.efficientnet import LITE_PREPROCESS
from outfitter.datasets.street_photos import StreetPhoto
from outfitter.parsing.canvas import letterbox, letterbox_labels
from outfitter.parsing.labels import CLASSES, IGNORE
from outfitter.parsing.net import Decoder, Encoder

log = logging.getLogger(__name__)

VIEWS = ("plain", "mirror", "zoom")
PRODUCT = 100
"""Label of a product-shot pixel is PRODUCT + class: it is background or that class, and nothing else."""
ZOOM = 0.8  # the zoomed view keeps this share of each side, centred


@dataclass
class ParserSettings:
    """Decoder training knobs; the defaults are what the shipped parser was trained with."""

    epochs: int = 14
    batch_size: int = 16
    lr: float = 3e-3
    top_lr: float = 3e-4  # the retrained Lite0 blocks start from ImageNet's weights: a tenth of the decoder's rate
    weight_decay: float = 1e-4
    seed: int = 0
    views: tuple[str, ...] = VIEWS


@dataclass
class FeatureSet:
    """Encoder taps (float16, one tensor per tap, one row per view) and canvas labels of a set of photos."""

    taps: list[torch.Tensor]
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class ParserReport:
    """IoU per class on the validation photos after training, and the loss of each epoch."""

    iou: dict[str, float]
    losses: list[float] = field(default_factory=list)


def normalise(pixels: np.ndarray) -> torch.Tensor:
    """uint8 [N, 3, H, W] canvas pixels as the encoder's input."""
    return LITE_PREPROCESS.from_pixels(torch.from_numpy(pixels))


def view_of(image: Image.Image, labels: np.ndarray, view: str) -> tuple[Image.Image, np.ndarray]:
    """One training view of a photo and its label map."""
    if view == "mirror":
        return image.transpose(Image.FLIP_LEFT_RIGHT), labels[:, ::-1].copy()
    if view == "zoom":
        w, h = image.size
        x0, y0 = round(w * (1 - ZOOM) / 2), round(h * (1 - ZOOM) / 2)
        box = (x0, y0, w - x0, h - y0)
        return image.crop(box), labels[box[1]: box[3], box[0]: box[2]].copy()
    return image, labels


def street_samples(photos: Iterable[StreetPhoto], table: np.ndarray) -> Iterator[tuple[Image.Image, np.ndarray]]:
    """Street photos with their label maps in parser classes (`table`: a dataset's label id -> class)."""
    for photo in photos:
        image, ids = photo.load()
        yield image, table[ids]


def product_samples(shots: Iterable[tuple[str | Path, str]]) -> Iterator[tuple[Image.Image, np.ndarray]]:
    """Product shots (a photo of one garment, no person) with every pixel labelled "background or this garment's
    category": nobody drew their masks, but no pixel of them is skin, hair or another garment."""
    for path, category in shots:
        image = Image.open(path).convert("RGB")
        yield image, np.full((image.height, image.width), PRODUCT + CLASSES.index(category), dtype=np.uint8)


@torch.no_grad()
def cache_features(samples: Iterable[tuple[Image.Image, np.ndarray]], encoder: Encoder,
                   views: Sequence[str] = ("plain",), batch_size: int = 8) -> FeatureSet:
    """Every view of every (photo, label map) through the encoder, the labels fitted to the canvas alike."""
    taps: list[list[torch.Tensor]] = []
    labels: list[np.ndarray] = []
    pending: list[np.ndarray] = []

    def flush() -> None:
        taps.append([t.half() for t in encoder(normalise(np.stack(pending)))])
        pending.clear()

    for image, label_map in samples:
        for view in views:
            img, lab = view_of(image, label_map, view)
            pending.append(letterbox(img)[0])
            labels.append(letterbox_labels(lab))
            if len(pending) == batch_size:
                flush()
    if pending:
        flush()
    return FeatureSet([torch.cat([t[i] for t in taps]) for i in range(len(taps[0]))],
                      torch.from_numpy(np.stack(labels)))


def joined(*sets: FeatureSet) -> FeatureSet:
    """Feature sets one after another (street photos and product shots)."""
    return FeatureSet([torch.cat([s.taps[i] for s in sets]) for i in range(len(sets[0].taps))],
                      torch.cat([s.labels for s in sets]))


def class_weights(labels: torch.Tensor, classes: int = len(CLASSES)) -> torch.Tensor:
    """Inverse square-root pixel frequency over the labelled pixels, normalised to mean 1 over the classes
    present: small garments (shoes, bags) count more than background without letting a rare class dominate."""
    counts = torch.bincount(labels[labels < PRODUCT].flatten().long(), minlength=classes).float()
    weights = torch.where(counts > 0, counts.clamp(min=1).rsqrt(), torch.zeros_like(counts))
    return weights / weights[counts > 0].mean()


def train_decoder(decoder: Decoder, train: FeatureSet, valid: FeatureSet | None = None,
                  settings: ParserSettings | None = None) -> tuple[Decoder, ParserReport]:
    """Fit a decoder to the cached features: AdamW, one-cycle schedule, class-weighted cross-entropy."""
    settings = settings or ParserSettings()
    torch.manual_seed(settings.seed)
    weights = class_weights(train.labels)
    top = {id(p) for p in decoder.top.parameters()}
    groups = [{"params": list(decoder.top.parameters()), "lr": settings.top_lr},
              {"params": [p for p in decoder.parameters() if id(p) not in top], "lr": settings.lr}]
    optimiser = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    steps = settings.epochs * math.ceil(len(train) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, [settings.top_lr, settings.lr], total_steps=steps,
                                                   pct_start=0.1)
    losses = []
    for epoch in range(settings.epochs):
        decoder.train()
        order, total = torch.randperm(len(train)), 0.0
        for start in range(0, len(train), settings.batch_size):
            rows = order[start: start + settings.batch_size]
            loss = _loss(decoder, [t[rows].float() for t in train.taps], train.labels[rows].long(), weights)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(rows)
        losses.append(round(total / len(train), 4))
        log.info("parser epoch %d: loss %.4f", epoch + 1, losses[-1])
    decoder.eval()
    iou = class_iou(confusion(decoder, valid)) if valid is not None else {}
    return decoder, ParserReport(iou, losses)


def _loss(decoder: Decoder, taps: list[torch.Tensor], labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at the logits' own stride, against the label at the centre of each cell: upsampling the
    logits to the canvas first made an epoch 1.5x slower."""
    logits = decoder(taps)
    stride = labels.shape[-1] // logits.shape[-1]
    return pixel_loss(logits, labels[..., stride // 2:: stride, stride // 2:: stride], weights)


def pixel_loss(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Class-weighted cross-entropy on labelled pixels, plus, on product-shot pixels (PRODUCT + class), the
    negative log of "background or that class": the two means added, so product shots weigh as much as a
    street photo's labels whatever their share of the batch."""
    product = (target >= PRODUCT) & (target != IGNORE)
    hard = torch.where(product, torch.full_like(target, IGNORE), target)
    loss = F.cross_entropy(logits, hard, weight=weights, ignore_index=IGNORE) if (hard != IGNORE).any() else 0.0
    if product.any():
        log_p = logits.log_softmax(1).movedim(1, -1)[product]
        kind = (target[product] - PRODUCT).long()
        either = torch.logaddexp(log_p[:, 0], log_p.gather(1, kind[:, None])[:, 0])
        loss = loss - either.mean()
    return loss


@torch.no_grad()
def confusion(decoder: Decoder, data: FeatureSet, batch_size: int = 16) -> np.ndarray:
    """[true, predicted] pixel counts over a feature set's canvases (padding excluded)."""
    classes = decoder.head[-1].out_channels
    matrix = np.zeros((classes, classes), dtype=np.int64)
    for start in range(0, len(data), batch_size):
        taps = [t[start: start + batch_size].float() for t in data.taps]
        labels = data.labels[start: start + batch_size].long()
        logits = F.interpolate(decoder(taps), size=labels.shape[-2:], mode="bilinear", align_corners=False)
        matrix += pixel_confusion(labels.numpy(), logits.argmax(1).numpy(), classes)
    return matrix


def pixel_confusion(truth: np.ndarray, predicted: np.ndarray, classes: int = len(CLASSES)) -> np.ndarray:
    """[true, predicted] counts of the pixels labelled with a class (not IGNORE, not a product shot's)."""
    keep = truth < classes
    codes = truth[keep].astype(np.int64) * classes + predicted[keep].astype(np.int64)
    return np.bincount(codes, minlength=classes * classes).reshape(classes, classes)


def class_iou(matrix: np.ndarray, names: Sequence[str] = CLASSES) -> dict[str, float]:
    """IoU per class present in the truth or the predictions: TP / (TP + FP + FN)."""
    tp = np.diag(matrix).astype(float)
    union = matrix.sum(0) + matrix.sum(1) - tp
    return {name: round(float(tp[i] / union[i]), 4) for i, name in enumerate(names) if union[i] > 0}
