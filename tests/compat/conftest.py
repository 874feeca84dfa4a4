"""Compat fixtures: one small synthetic Polyvore dataset per session, and single-threaded torch for tiny ops."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from outfitter.datasets import PolyvoreOutfits, write_synthetic_polyvore

IMAGE_SIZE = 32


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors train faster on one thread (and a shared 2-core machine is not oversubscribed)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> PolyvoreOutfits:
    """A Polyvore Outfits folder whose compatibility rule is colour style (32 px photos)."""
    root = write_synthetic_polyvore(tmp_path_factory.mktemp("polyvore"), n_outfits=(100, 30, 30), seed=0)
    return PolyvoreOutfits(root)


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A feature cache shared by every test, so each image passes through each backbone once per session."""
    return tmp_path_factory.mktemp("features")
