"""Projection tables: built once, saved whole or not at all, memory-mapped when opened again."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from outfitter.compat import CompatibilityMLP
from outfitter.compat.projections import ProjectionTable


@pytest.fixture
def model() -> CompatibilityMLP:
    torch.manual_seed(0)
    return CompatibilityMLP(8, hidden_dim=16).eval()


@pytest.fixture
def catalogue() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)


def test_exact_rows_are_the_candidate_half_of_the_first_layer(model, catalogue):
    table = ProjectionTable.build(model, catalogue)
    first = model.fc[0]
    expected = catalogue @ first.weight[:, 8:].detach().numpy().T + first.bias.detach().numpy()
    assert np.allclose(table.exact, expected, atol=1e-6)


def test_codes_times_scales_approximate_the_rows_within_half_a_step(model, catalogue):
    table = ProjectionTable.build(model, catalogue)
    assert table.codes.dtype == np.int8 and np.abs(table.codes).max() == 127
    assert np.all(np.abs(table.codes * table.scales - table.exact) <= table.scales / 2 + 1e-6)
    weights = np.abs(model.fc[2].weight[0].detach().numpy())
    error = np.abs(table.codes * table.scales.astype(np.float64) - table.exact) @ weights
    assert np.all(np.log(table.row_margin) >= error)


def test_saved_once_then_memory_mapped(model, catalogue, tmp_path):
    built = ProjectionTable.load_or_build(model, catalogue, tmp_path / "seg")
    assert isinstance(built.exact, np.memmap)
    assert json.loads((tmp_path / "seg" / "table.json").read_text())["rows"] == 50
    stamp = (tmp_path / "seg" / "exact.npy").stat().st_mtime_ns
    again = ProjectionTable.load_or_build(model, catalogue, tmp_path / "seg")
    assert (tmp_path / "seg" / "exact.npy").stat().st_mtime_ns == stamp
    assert np.array_equal(again.codes, built.codes)
    assert [p.name for p in tmp_path.iterdir()] == ["seg"]


def test_a_table_of_another_shape_is_rebuilt(model, catalogue, tmp_path):
    ProjectionTable.load_or_build(model, catalogue[:10], tmp_path / "seg")
    table = ProjectionTable.load_or_build(model, catalogue, tmp_path / "seg")
    assert len(table) == 50


def test_a_failed_build_leaves_nothing_behind(model, catalogue, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        ProjectionTable.load_or_build(model, catalogue, tmp_path / "seg")
    assert list(tmp_path.iterdir()) == []
