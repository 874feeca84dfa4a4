"""Run a backbone in onnxruntime: exported once, cached by weights, checked against torch, torch when it cannot match.

On CPU onnxruntime embeds several times faster than eager torch (SPEC section 4: EfficientNet-Lite0 10 ms vs
43 ms an image on one core). The exported graph takes the decoders' uint8 NCHW pixels and normalises them
itself (no float batch is built in Python), and `OnnxEmbedder` returns the same unit-norm float32 vectors as
`Backbone.embed_pixels`, within `TOLERANCE`.

Threads: inference takes every core, with idle threads sleeping rather than spinning, and the decoding threads
share them at a lower priority. Decoding costs a fifth of inference (EfficientNet-Lite0: about 1.6 of 8 CPU ms
an image), so keeping a core for decoding would leave it mostly idle: on 2 cores the embedder would get one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from outfitter.utils.atomic import atomic_path
from outfitter.backbones.registry import Backbone, Preprocess
from outfitter.utils.digest import module_digest
from outfitter.errors import InputError

log = logging.getLogger(__name__)

Embedder = Callable[[torch.Tensor], np.ndarray]

RUNTIMES = ("auto", "torch", "onnx")
TOLERANCE = 1e-4
"""Largest absolute difference allowed between onnxruntime's and torch's unit-norm vectors."""

OPSET = 18
EXPORT_FORMAT = 2
"""Bumped when the export recipe changes, so models cached by an older recipe are not reused."""

INPUT, OUTPUT = "pixels", "features"
EXPORTER_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx", "torch.export")


def default_cache_dir() -> Path:
    """Where exported models are kept unless a cache directory is given (the CLI maps OUTFITTER_CACHE onto it)."""
    return Path.home() / ".cache" / "outfitter" / "onnx"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, which a container or taskset may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def onnxruntime_available() -> bool:
    """Whether onnxruntime can be imported (it is optional at run time: torch always works)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def weights_digest(backbone: Backbone) -> str:
    """A short hash of the model's tensors, input size and export recipe: random and real weights never share a file."""
    pre = backbone.preprocess
    return module_digest(backbone.model, f"{EXPORT_FORMAT}:{OPSET}:{pre.image_size}:{pre.mean}:{pre.std}")


def cached_model_path(backbone: Backbone, cache_dir: Path) -> Path:
    """The cache file for this backbone's name and weights."""
    return cache_dir / f"{backbone.name}-{weights_digest(backbone)}.onnx"


class PixelInput(nn.Module):
    """A model taking uint8 pixels: x / 255 normalised by the preprocessing's mean and std, inside."""

    def __init__(self, model: nn.Module, preprocess: Preprocess) -> None:
        super().__init__()
        std, mean = torch.tensor(preprocess.std).view(1, 3, 1, 1), torch.tensor(preprocess.mean).view(1, 3, 1, 1)
        self.model = model
        self.register_buffer("scale", (1.0 / (255.0 * std)).float())
        self.register_buffer("shift", (mean / std).float())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixels.float() * self.scale - self.shift)


def export(backbone: Backbone, path: Path) -> None:
    """Export the backbone as `PixelInput` with a dynamic batch axis."""
    size = backbone.preprocess.image_size
    export_module(PixelInput(backbone.model, backbone.preprocess).eval(),
                  torch.zeros(2, 3, size, size, dtype=torch.uint8), path, OUTPUT,
                  dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))


def export_module(module: nn.Module, example: torch.Tensor, path: Path, output: str,
                  dynamic_shapes: tuple | None = None) -> None:
    """Export a module taking one `INPUT` tensor shaped like `example`, written atomically (never a partial file)."""
    with quiet_loggers(EXPORTER_LOGGERS):
        program = torch.onnx.export(
            module, (example,), dynamo=True, opset_version=OPSET, input_names=[INPUT], output_names=[output],
            dynamic_shapes=dynamic_shapes, optimize=True, verbose=False,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        program.save(str(tmp))


@contextmanager
def quiet_loggers(names: tuple[str, ...]) -> Iterator[None]:
    """Raise these loggers to WARNING for the block: the exporter's passes log hundreds of INFO lines under -v."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def open_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session with full graph optimisation and `threads` non-spinning intra-op threads.

    Spinning is off because decoding workers share the cores: a spinning idle thread would steal their time.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def session_errors() -> tuple[type[Exception], ...]:
    """What onnxruntime raises for an unreadable or invalid model file."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return (state.Fail, state.InvalidProtobuf, state.InvalidGraph, state.InvalidArgument, state.NoSuchFile,
            state.NotImplemented, state.RuntimeException)


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm as float32, exactly as torch's F.normalize (eps 1e-12) does."""
    features = features.astype(np.float32, copy=False)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


class OnnxEmbedder:
    """A backbone's forward in onnxruntime, giving `Backbone.embed_pixels`' vectors faster; torch if it cannot match."""

    def __init__(self, backbone: Backbone, *, cache_dir: Path | None = None, threads: int | None = None) -> None:
        self.backbone = backbone
        self.path = cached_model_path(backbone, Path(cache_dir) if cache_dir else default_cache_dir())
        self.session = self._load(threads or available_cores())

    @property
    def runtime(self) -> str:
        """Which runtime embeds: "onnx", or "torch" after a failed check."""
        return "torch" if self.session is None else "onnx"

    def __call__(self, batch: torch.Tensor) -> np.ndarray:
        """uint8 NCHW pixels (`Preprocess.pixels`) -> L2-normalised float32 vectors [N, dim]."""
        if self.session is None:
            return self.backbone.embed_pixels(batch)
        pixels = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.uint8)
        return unit_rows(self.session.run([OUTPUT], {INPUT: pixels})[0])

    def _load(self, threads: int) -> Any:
        """A checked session from the cache, exporting when the file is missing, unreadable or wrong; None if it cannot match."""
        if self.path.exists():
            session = self._checked_session(threads)
            if session is not None:
                return session
            log.warning("cached ONNX model %s is unreadable or disagrees with torch; exporting it again", self.path)
        log.info("exporting %s to ONNX at %s (once per set of weights)", self.backbone.name, self.path)
        export(self.backbone, self.path)
        session = self._checked_session(threads)
        if session is None:
            log.warning("%s in onnxruntime differs from torch by more than %g; embedding with torch instead",
                        self.backbone.name, TOLERANCE)
        return session

    def _checked_session(self, threads: int) -> Any:
        """A session on the cached file if it loads, runs and matches torch within TOLERANCE, else None."""
        try:
            session = open_session(self.path, threads)
            difference = self._difference(session)
        except session_errors() as exc:  # unreadable, or a model for other inputs under this name
            log.debug("cannot use %s: %s", self.path, exc)
            return None
        log.debug("%s: onnxruntime vs torch max abs difference %.2e", self.backbone.name, difference)
        return session if difference <= TOLERANCE else None

    def _difference(self, session: Any) -> float:
        """Max absolute difference between onnxruntime's and torch's unit-norm vectors on a small seeded batch."""
        size = self.backbone.preprocess.image_size
        batch = torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        ours = unit_rows(session.run([OUTPUT], {INPUT: batch.numpy()})[0])
        theirs = self.backbone.embed_pixels(batch)
        return float(np.abs(ours - theirs).max()) if ours.shape == theirs.shape else float("inf")


def make_embedder(backbone: Backbone, runtime: str = "auto", *, cache_dir: Path | None = None,
                  threads: int | None = None) -> Embedder:
    """The uint8 pixels -> vectors function for `runtime`: "onnx", "torch", or "auto" (onnxruntime when it works)."""
    if runtime not in RUNTIMES:
        raise InputError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}", field="runtime")
    if runtime == "torch":
        return backbone.embed_pixels
    if not onnxruntime_available():
        if runtime == "onnx":
            raise InputError("runtime 'onnx' needs onnxruntime: pip install onnxruntime", field="runtime")
        return backbone.embed_pixels
    if runtime == "onnx":
        return OnnxEmbedder(backbone, cache_dir=cache_dir, threads=threads)
    try:
        return OnnxEmbedder(backbone, cache_dir=cache_dir, threads=threads)
    except Exception as exc:  # any export failure (an unsupported layer, a missing exporter package): torch still works
        log.warning("cannot run %s in onnxruntime (%s); embedding with torch", backbone.name, exc)
        return backbone.embed_pixels
