"""Kinds of compatibility model by name: each model module registers how to build, train and load its kind.

Training, checkpoints and the CLI look a kind up here instead of branching on its name, so a new kind is one
new module that calls `register_kind` (and one line in BUILTIN_MODULES).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outfitter.compat.base import CompatModel
from outfitter.compat.losses import PairLoss
from outfitter.errors import InputError

BUILTIN_MODULES = ("outfitter.compat.mlp", "outfitter.compat.polania", "outfitter.compat.garment")


@dataclass(frozen=True)
class Recipe:
    """A kind's training defaults (see compat/pairs.py for the negatives; resample: new negatives every epoch;
    holdout: where the early-stopping pairs come from, "train" (a fifth of its outfits) or "valid" (that split))."""

    epochs: int
    batch_size: int
    max_outfits: int | None
    ratio: int
    anchored: bool
    negatives: str
    lr: float = 1e-4
    weight_decay: float = 0.0
    both_sides: bool = False
    resample: bool = False
    holdout: str = "train"


Builder = Callable[..., CompatModel]


@dataclass(frozen=True)
class ModelKind:
    """One kind of compatibility model: its class, how a fresh one is built, its loss and training recipe."""

    name: str
    description: str
    model: type[CompatModel]
    build: Builder
    loss: Callable[[], PairLoss]
    recipe: Recipe
    load_options: dict[str, Any] = field(default_factory=dict)

    def fresh(self, backbone: str, *, weights: str | Path | None = None, image_size: int | None = None) -> CompatModel:
        """A new untrained model of this kind (backbone-free kinds ignore the backbone arguments)."""
        return self.build(backbone=backbone, weights=weights, image_size=image_size)

    def from_config(self, config: dict[str, Any]) -> CompatModel:
        """A model rebuilt from a checkpoint's stored constructor arguments (weights come later)."""
        return self.model(**config, **self.load_options)


_KINDS: dict[str, ModelKind] = {}


def register_kind(kind: ModelKind) -> ModelKind:
    """Add a kind to the registry (called by the module that defines it)."""
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> ModelKind:
    """The registered kind of that name, or an InputError listing the known ones."""
    _import_builtins()
    if name not in _KINDS:
        raise InputError(f"unknown model kind {name!r}; expected one of: {', '.join(list_kinds())}", field="model")
    return _KINDS[name]


def list_kinds() -> list[str]:
    """Names of every registered kind."""
    _import_builtins()
    return sorted(_KINDS)


def _import_builtins() -> None:
    """Import the built-in model modules, which register their kinds."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
