"""Per-item features kept in the store beside the vectors: one table, name -> width and function of the uint8
pixels the backbone gets, so a new feature is one entry and every photo is still decoded once."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from outfitter.errors import InputError
from outfitter.images import GARMENT_BINS, garment_histograms

GARMENT_FEATURE = "garment_hsv"


@dataclass(frozen=True)
class Feature:
    """A per-item feature: its width and the function computing it from a uint8 [N,3,H,W] batch."""

    width: int
    compute: Callable[[torch.Tensor], torch.Tensor]


FEATURES: Mapping[str, Feature] = MappingProxyType({
    GARMENT_FEATURE: Feature(math.prod(GARMENT_BINS), garment_histograms),
})


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    """The names as a tuple, or an InputError naming an unknown one and listing the known."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise InputError(f"unknown feature {unknown[0]!r}; known: {', '.join(FEATURES)}", field="features")
    return tuple(names)


def compute_features(pixels: torch.Tensor, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Each named feature of a uint8 batch as float32 [N, width], its width checked against the table."""
    out = {}
    for name in names:
        feature = FEATURES[name]
        values = feature.compute(pixels).numpy().astype(np.float32, copy=False)
        if values.shape != (len(pixels), feature.width):
            raise ValueError(f"feature {name!r} gave shape {values.shape}, declared ({len(pixels)}, {feature.width})")
        out[name] = values
    return out
