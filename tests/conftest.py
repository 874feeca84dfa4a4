"""Shared fixtures: tiny photo catalogues drawn on the fly, and one backbone per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from outfitter.backbones import Backbone, create_backbone
from tests.drawing import COLOURS, draw_shop

@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """A shop folder: three category sub-folders of four photos each."""
    return draw_shop(tmp_path / "photos", [*COLOURS.values(), (120, 120, 120)])


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """Exported ONNX models go to a session folder, not the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("onnx-cache")
        patch.setattr("outfitter.backbones.onnx.default_cache_dir", lambda: folder)
        yield folder


@pytest.fixture(scope="session")
def lite0() -> Backbone:
    """The default backbone with its real offline weights, built once."""
    return create_backbone("efficientnet_lite0")
