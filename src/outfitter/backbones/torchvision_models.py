"""The original's backbones from torchvision: ResNet50 (2048-d) and VGG16 conv5 (512-d)."""

from __future__ import annotations

from pathlib import Path

import torchvision
from torch import nn

from outfitter.backbones.registry import BackboneSpec, Preprocess, Trunk, register
from outfitter.backbones.weights import find_weights, load_state_dict

IMAGENET = Preprocess(224, "squash", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
# torchvision's IMAGENET1K_V1 checkpoints, the ones `pretrained=True` gave the original.
RESNET50_FILE = "resnet50-0676ba61.pth"
VGG16_FILE = "vgg16-397923af.pth"
DOWNLOADS = "https://download.pytorch.org/models/"


def build_resnet50(weights: str | Path | None, pretrained: bool) -> nn.Module:
    """ResNet50 with its classifier replaced by identity: the global-average-pooled 2048-d vector."""
    model = torchvision.models.resnet50(weights=None)
    if pretrained:
        path = find_weights("ResNet50", RESNET50_FILE, DOWNLOADS + RESNET50_FILE, weights)
        model.load_state_dict(load_state_dict(path))
    model.fc = nn.Identity()
    return model


def split_resnet50(model: nn.Module) -> Trunk:
    """Freeze through layer3; train layer4 and the pooling."""
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2, model.layer3)
    return Trunk(stem, nn.Sequential(model.layer4, model.avgpool, nn.Flatten(1)))


class VGG16Pooled(nn.Module):
    """VGG16 `features` through pool5 (512x7x7), average-pooled to 512-d as in the Polania Siamese encoder."""

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))

    def forward(self, x):
        return self.pool(self.features(x))


def build_vgg16(weights: str | Path | None, pretrained: bool) -> nn.Module:
    """VGG16 conv layers with ImageNet weights (the classifier's weights are read but unused)."""
    model = torchvision.models.vgg16(weights=None)
    if pretrained:
        path = find_weights("VGG16", VGG16_FILE, DOWNLOADS + VGG16_FILE, weights)
        model.load_state_dict(load_state_dict(path))
    return VGG16Pooled(model.features)


def split_vgg16(model: VGG16Pooled) -> Trunk:
    """Freeze conv1_1..conv4_3 and pool4 (features[:24]); train the conv5 block and pool5 (as the paper)."""
    return Trunk(model.features[:24], nn.Sequential(model.features[24:], model.pool))


RESNET50 = register(
    BackboneSpec("resnet50", 2048, IMAGENET, build_resnet50, split_resnet50,
                 "ResNet50 ImageNet, 224x224 squash (the original's similar-item model), 2048-d")
)
VGG16 = register(
    BackboneSpec("vgg16", 512, IMAGENET, build_vgg16, split_vgg16,
                 "VGG16 conv5 average-pooled (PolaniaNet's encoder), 512-d")
)
