"""Image backbones by name: `create_backbone("efficientnet_lite0")`."""

from outfitter.backbones import efficientnet, torchvision_models, tuned  # noqa: F401  (registers the families)
from outfitter.backbones.registry import (
    DEFAULT_BACKBONE,
    Backbone,
    BackboneSpec,
    Preprocess,
    Trunk,
    create_backbone,
    get_spec,
    list_backbones,
)

__all__ = [
    "DEFAULT_BACKBONE",
    "Backbone",
    "BackboneSpec",
    "Preprocess",
    "Trunk",
    "create_backbone",
    "get_spec",
    "list_backbones",
]
