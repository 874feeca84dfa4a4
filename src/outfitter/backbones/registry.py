"""Create image backbones by name: each declares how it is built, its preprocessing and its output width."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from outfitter.config import DEFAULT_BACKBONE
from outfitter.errors import InputError
from outfitter.images import load_pixels, to_pixels


@dataclass(frozen=True)
class Preprocess:
    """How a backbone wants its pixels: size, resize mode and per-channel normalisation of [0,1] values."""

    image_size: int
    resize_mode: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, img: Image.Image) -> torch.Tensor:
        """An RGB PIL image as a normalised CHW float tensor."""
        return self.normalize(self.to_tensor(img))

    def reader(self, at_least: int | None = None) -> Callable[[str | Path | bytes], torch.Tensor]:
        """photo -> `pixels`, decoding JPEGs at a reduced scale that keeps `at_least` pixels a side (picklable)."""
        return partial(load_pixels, size=self.image_size, mode=self.resize_mode, at_least=at_least)

    def pixels(self, img: Image.Image) -> torch.Tensor:
        """Resized to the model's input, still uint8 CHW (what decoding workers send: a quarter of the bytes)."""
        return to_pixels(img, self.image_size, self.resize_mode)

    def from_pixels(self, batch: torch.Tensor) -> torch.Tensor:
        """A uint8 NCHW batch of `pixels` as the normalised float batch the torch model takes."""
        return self.normalize(batch.float().div_(255.0))

    def to_tensor(self, img: Image.Image) -> torch.Tensor:
        """Resize and scale to [0,1] without normalising (colour histograms are taken here)."""
        return self.pixels(img).float().div_(255.0)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the mean/std normalisation to a [0,1] tensor (CHW or NCHW)."""
        mean = torch.tensor(self.mean, dtype=x.dtype).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).view(3, 1, 1)
        return (x - mean) / std


@dataclass(frozen=True)
class Trunk:
    """A backbone cut in two for fine-tuning: a frozen stem and a trainable head ending in the pooled vector."""

    stem: nn.Module
    head: nn.Module


@dataclass(frozen=True)
class BackboneSpec:
    """Registry entry: everything needed to build one backbone family."""

    name: str
    dim: int
    preprocess: Preprocess
    build: Callable[[str | Path | None, bool], nn.Module]
    split: Callable[[nn.Module], Trunk]
    description: str
    tune_split: Callable[[nn.Module], Trunk] | None = None

    def trunk_for_tuning(self, model: nn.Module) -> Trunk:
        """Where `outfitter tune` cuts the model: its own split if declared, else the usual one."""
        return (self.tune_split or self.split)(model)


class Backbone:
    """A built backbone in eval mode: preprocessing plus a model that maps images to unit-norm vectors."""

    def __init__(self, spec: BackboneSpec, model: nn.Module) -> None:
        self.spec = spec
        self.model = model.eval()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def preprocess(self) -> Preprocess:
        return self.spec.preprocess

    def trunk(self) -> Trunk:
        """The model cut into a frozen stem and a trainable head (shares parameters with `model`)."""
        return self.spec.split(self.model)

    @torch.inference_mode()
    def embed_tensors(self, batch: torch.Tensor) -> np.ndarray:
        """Preprocessed NCHW batch -> L2-normalised float32 vectors [N, dim]."""
        feats = self.model(batch).float()
        return nn.functional.normalize(feats, dim=1).numpy().astype(np.float32, copy=False)

    def embed_pixels(self, batch: torch.Tensor) -> np.ndarray:
        """uint8 NCHW `Preprocess.pixels` batch -> L2-normalised float32 vectors [N, dim] (what embedders take)."""
        return self.embed_tensors(self.preprocess.from_pixels(batch))

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> L2-normalised float32 vectors [N, dim]."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.embed_tensors(torch.stack([self.preprocess(im) for im in images]))


_REGISTRY: dict[str, BackboneSpec] = {}



def register(spec: BackboneSpec) -> BackboneSpec:
    """Add a backbone family to the registry (called once per family module)."""
    _REGISTRY[spec.name] = spec
    return spec


def list_backbones() -> list[str]:
    """Names of every registered backbone."""
    return sorted(_REGISTRY)


_FILE_KINDS: dict[str, Callable[[Path], BackboneSpec]] = {}


def register_file_kind(suffix: str, spec_of: Callable[[Path], BackboneSpec]) -> None:
    """Let backbones be named by a file path ending in `suffix` (a tuned backbone's `.pt`): `spec_of(path)` reads
    it into a registry entry. The family that writes such files registers it, so this module imports none."""
    _FILE_KINDS[suffix] = spec_of


def get_spec(name: str) -> BackboneSpec:
    """The registry entry for `name` (or a backbone file's path), or an InputError listing the known names."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    spec_of = next((read for suffix, read in _FILE_KINDS.items() if name.endswith(suffix)), None)
    if spec_of is not None and Path(name).is_file():
        return spec_of(Path(name))
    raise InputError(f"unknown backbone {name!r}; known: {', '.join(list_backbones())} or a file made by `outfitter tune`",
                     field="backbone")


def create_backbone(name: str = DEFAULT_BACKBONE, *, weights: str | Path | None = None, pretrained: bool = True) -> Backbone:
    """Build a backbone by name; `weights` overrides where pretrained weights come from, `pretrained=False` gives random ones."""
    spec = get_spec(name)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = spec.build(weights, pretrained)
    return Backbone(spec, model)
