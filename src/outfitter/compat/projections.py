"""Per-candidate projections of a one-hidden-layer ranker, computed once per catalogue block and kept on disk.

For the MLP, P_c = W1b @ c + b1 is the candidate's half of the first layer. A table holds, for a block of
catalogue rows: P as float32 (exact scoring), P as int8 codes with one scale per hidden unit (screening
reads a quarter of the bytes), and per row exp(the largest logit error the codes can cause plus a float
rounding allowance), so the screen's bounds are guaranteed. Tables are saved as .npy files in one
directory, renamed into place only when complete, and memory-mapped when opened.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from outfitter.compat.base import CompatModel

FORMAT = 1
BUILD_BLOCK = 8192
ROUNDING_ALLOWANCE = 2e-4
"""Logit error allowed per unit of sum(|w| * |terms|) for float32 rounding in the screen and the exact scan
(a 512-term float32 sum errs by at most 512 * 2**-24 = 3e-5 of that sum; both scans together by 6e-5)."""
_ARRAYS = ("exact", "codes", "scales", "row_margin")


@dataclass(frozen=True)
class ProjectionTable:
    """One block of catalogue rows, projected: exact [n, H] float32, codes [n, H] int8, scales [H], row_margin [n]."""

    exact: np.ndarray
    codes: np.ndarray
    scales: np.ndarray
    row_margin: np.ndarray

    def __len__(self) -> int:
        return len(self.exact)

    @classmethod
    def build(cls, model: CompatModel, embeddings: np.ndarray, *, exact: np.ndarray | None = None) -> "ProjectionTable":
        """Project `embeddings` [n, E] through the model's candidate half, in blocks (into `exact` when given)."""
        weights, _ = readout(model)
        n, hidden = len(embeddings), len(weights)
        exact = np.empty((n, hidden), dtype=np.float32) if exact is None else exact
        with torch.no_grad():
            for lo in range(0, n, BUILD_BLOCK):
                block = np.array(embeddings[lo : lo + BUILD_BLOCK], dtype=np.float32)  # writable, for torch
                exact[lo : lo + len(block)] = model.project_candidates(torch.from_numpy(block)).numpy()
        scales = _unit_scales(exact).astype(np.float32).astype(np.float64)  # the bounds use the stored scales
        codes = np.empty((n, hidden), dtype=np.int8)
        row_margin = np.empty(n, dtype=np.float64)
        magnitude = np.abs(weights).astype(np.float64)
        for lo in range(0, n, BUILD_BLOCK):
            block = exact[lo : lo + BUILD_BLOCK].astype(np.float64)
            codes[lo : lo + len(block)] = np.rint(block / scales)
            error = np.abs(block - codes[lo : lo + len(block)] * scales) @ magnitude
            size = (np.abs(block) + scales) @ magnitude
            row_margin[lo : lo + len(block)] = np.exp(error * (1 + 1e-6) + ROUNDING_ALLOWANCE * size)
        return cls(exact, codes, scales.astype(np.float32), row_margin)

    @classmethod
    def load(cls, directory: Path) -> "ProjectionTable":
        """A saved table, its arrays memory-mapped (read-only)."""
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS}
        return cls(**arrays)

    @classmethod
    def load_or_build(cls, model: CompatModel, embeddings: np.ndarray, directory: Path) -> "ProjectionTable":
        """The table saved in `directory` if it is complete and fits, else built there and saved atomically."""
        rows, hidden = len(embeddings), len(readout(model)[0])
        if _complete(directory, rows, hidden):
            return cls.load(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            exact = np.lib.format.open_memmap(tmp / "exact.npy", mode="w+", dtype=np.float32,
                                              shape=(rows, hidden))
            table = cls.build(model, embeddings, exact=exact)
            exact.flush()
            for name in _ARRAYS[1:]:
                np.save(tmp / f"{name}.npy", getattr(table, name), allow_pickle=False)
            (tmp / "table.json").write_text(json.dumps({"format": FORMAT, "rows": rows, "hidden": hidden}))
            _fsync_tree(tmp)
            _publish(tmp, directory, rows, hidden)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return cls.load(directory)


def readout(model: CompatModel) -> tuple[np.ndarray, float]:
    """The output layer (w [H], b) after the hidden ReLU, as float32: logit = b + w . relu(P_c + A_q)."""
    weights, bias = model.relu_readout()
    return weights.detach().numpy().astype(np.float32), float(bias.detach())


def query_margin(queries: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    """exp(the rounding allowance of each projected query item [Q, H] under the readout (weights, bias)) [Q]:
    the query's share of the screen's margin."""
    size = np.abs(queries.astype(np.float64)) @ np.abs(weights.astype(np.float64)) + abs(bias)
    return np.exp(ROUNDING_ALLOWANCE * size)


def _unit_scales(exact: np.ndarray) -> np.ndarray:
    """One int8 scale per hidden unit: its largest |value| maps to 127 (1 for a unit that is always 0)."""
    peak = np.zeros(exact.shape[1], dtype=np.float64)
    for lo in range(0, len(exact), BUILD_BLOCK):
        peak = np.maximum(peak, np.abs(exact[lo : lo + BUILD_BLOCK]).max(axis=0, initial=0.0))
    return np.where(peak > 0, peak / 127.0, 1.0)


def _complete(directory: Path, rows: int, hidden: int) -> bool:
    """True if `directory` holds a finished table of this shape in this format."""
    try:
        info = json.loads((directory / "table.json").read_text())
    except (OSError, ValueError):
        return False
    return info == {"format": FORMAT, "rows": rows, "hidden": hidden} and all(
        (directory / f"{name}.npy").is_file() for name in _ARRAYS
    )


def _fsync_tree(directory: Path) -> None:
    """Flush every file of a freshly written directory to disk before it is renamed into place."""
    for path in directory.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())


def _publish(tmp: Path, directory: Path, rows: int, hidden: int) -> None:
    """Rename the finished directory into place (replacing an unusable one); if another process won, keep theirs."""
    if directory.exists() and not _complete(directory, rows, hidden):
        shutil.rmtree(directory)
    try:
        os.replace(tmp, directory)
    except OSError:
        if not _complete(directory, rows, hidden):
            raise
