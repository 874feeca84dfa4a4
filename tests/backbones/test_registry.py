"""One contract for every registered backbone: width, dtype, unit norm, determinism, preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter.backbones import create_backbone, get_spec, list_backbones
from outfitter.errors import InputError, WeightsNotFoundError
from tests.drawing import draw_item


@pytest.fixture(scope="module", params=list_backbones())
def backbone(request):
    """Every backbone; the ones whose weights cannot be had offline get random weights."""
    name = request.param
    return create_backbone(name, pretrained=name == "efficientnet_lite0")


def test_embeds_to_declared_width_as_unit_float32(backbone):
    images = [draw_item("tops", (200, 30, 30), 0), draw_item("shoes", (30, 30, 200), 1)]
    vectors = backbone.embed_images(images)
    assert vectors.shape == (2, backbone.dim) == (2, get_spec(backbone.name).dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_is_deterministic(backbone):
    image = draw_item("bottoms", (30, 160, 60), 2)
    np.testing.assert_array_equal(backbone.embed_images([image]), backbone.embed_images([image]))


def test_preprocessing_gives_the_declared_size_and_normalisation(backbone):
    pre = backbone.preprocess
    x = pre(draw_item("tops", (255, 255, 255), 3, size=100))
    assert x.shape == (3, pre.image_size, pre.image_size)
    white = pre.normalize(torch.ones(3, 1, 1)).flatten()
    np.testing.assert_allclose(white, [(1 - m) / s for m, s in zip(pre.mean, pre.std)], rtol=1e-6)


def test_trunk_split_reproduces_the_full_model(backbone):
    x = backbone.preprocess(draw_item("shoes", (40, 60, 200), 4))[None]
    trunk = backbone.trunk()
    with torch.inference_mode():
        torch.testing.assert_close(trunk.head(trunk.stem(x)).flatten(1), backbone.model(x), rtol=1e-4, atol=1e-5)


def test_lite0_weights_are_the_real_imagenet_ones(lite0):
    """The packaged checkpoint, loaded in order, classifies as ImageNet: its conv stem is not random init."""
    stem = lite0.model.conv_stem.weight
    random_stem = create_backbone("efficientnet_lite0", pretrained=False).model.conv_stem.weight
    assert not torch.allclose(stem, random_stem)


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="download.pytorch.org/models/resnet50-0676ba61.pth.*--weights"):
        create_backbone("resnet50")
    with pytest.raises(WeightsNotFoundError, match="not found"):
        create_backbone("vgg16", weights=tmp_path / "nope.pth")


def test_weights_from_a_given_path_load(tmp_path):
    random_net = create_backbone("resnet50", pretrained=False)
    state = {k: v for k, v in random_net.model.state_dict().items()}
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)
    torch.save(state, tmp_path / "r50.pth")
    loaded = create_backbone("resnet50", weights=tmp_path / "r50.pth")
    torch.testing.assert_close(loaded.model.conv1.weight, random_net.model.conv1.weight)


def test_unknown_backbone_lists_the_known_ones():
    with pytest.raises(InputError, match="efficientnet_lite0"):
        create_backbone("alexnet")
