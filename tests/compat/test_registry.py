"""Model kinds by name: the built-in ones, a clear error for others, and a new kind plugged in by registering."""

from __future__ import annotations

import pytest

from outfitter.compat import load_model, train
from outfitter.compat.garment import GarmentNet
from outfitter.compat.losses import BCELoss
from outfitter.compat.registry import ModelKind, Recipe, _KINDS, get_kind, list_kinds, register_kind
from outfitter.errors import InputError


def test_builtin_kinds_are_registered():
    assert {"mlp", "polania", "garment"} <= set(list_kinds())
    assert get_kind("garment").model is GarmentNet


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(InputError, match="unknown model kind 'lstm'.*garment.*mlp.*polania"):
        get_kind("lstm")


class TinyGarment(GarmentNet):
    """A smaller GarmentNet registered under its own name, as a plug-in kind would be."""

    kind = "tiny-garment"


@pytest.fixture
def tiny_kind():
    kind = register_kind(ModelKind(
        name="tiny-garment", description="a test kind", model=TinyGarment,
        build=lambda **_: TinyGarment(hidden_dim=8, embed_dim=4, pair_dim=4), loss=BCELoss,
        recipe=Recipe(epochs=1, batch_size=64, max_outfits=None, ratio=1, anchored=True, negatives="random", lr=1e-3),
    ))
    yield kind
    _KINDS.pop(kind.name)


def test_a_registered_kind_trains_and_loads_without_other_changes(tiny_kind, synthetic, feature_cache, tmp_path):
    result = train(synthetic, model="tiny-garment", out=tmp_path / "t.pt", cache_dir=feature_cache, progress=False)
    model, payload = load_model(result.checkpoint)
    assert isinstance(model, TinyGarment) and model.embed_dim == 4
    assert payload["meta"]["hyperparameters"]["epochs"] == 1
