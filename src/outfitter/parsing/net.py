"""The garment parser's network: the offline backbone's frozen ImageNet stages, and a light decoder over four of them.

EfficientNet-Lite0's stages at strides 4, 8, 16 and 32 (24, 40, 112 and 320 channels) are merged top-down as in
a feature pyramid, the coarsest one gated by its own global context (as LR-ASPP does), each merge smoothed by a
depthwise-separable conv; class logits come out at stride 4 and are upsampled to the input. Blocks 0-3 stay
frozen, so training needs their features once per photo; blocks 4-6 are retrained with the decoder (telling a
top from a jacket or a dress takes more than ImageNet's features), and the shipped file holds them and the
decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from outfitter.parsing.labels import CLASSES

CANVAS = (480, 320)
"""Input height and width: a portrait photo is letterboxed into it (street photos are about 550 x 830)."""
ENCODER_CHANNELS = (24, 40, 112, 320)
TAPS = (1, 2, 4, 6)  # the Lite0 blocks whose outputs the decoder reads: strides 4, 8, 16 and 32
RETRAINED = 4  # Lite0's blocks from this one on are retrained with the decoder; those before stay frozen
DECODER_WIDTH = 32  # 64 channels made training 7x slower on CPU (depthwise convs at stride 4)


class Encoder(nn.Module):
    """Lite0's stem and its frozen blocks (always in eval mode), returning the outputs of the frozen `TAPS` blocks
    and, last, that of the last frozen block (where the retrained blocks start)."""

    def __init__(self, lite0: nn.Module) -> None:
        super().__init__()
        self.stem = nn.Sequential(lite0.conv_stem, lite0.bn1)
        self.blocks = nn.ModuleList(lite0.blocks[:RETRAINED])
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> "Encoder":
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, h = [], self.stem(x)
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i in TAPS or i == RETRAINED - 1:
                taps.append(h)
        return taps


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _separable(width: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, groups=width, bias=False),
        nn.BatchNorm2d(width), nn.ReLU(inplace=True), _conv_bn(width, width))


class Decoder(nn.Module):
    """Lite0's retrained blocks (`top`), then a top-down merge of the four tapped levels into class logits at
    stride 4. `top`'s BatchNorm keeps ImageNet's statistics: batches of 16 photos are too few to re-estimate them."""

    def __init__(self, top: nn.Module, width: int = DECODER_WIDTH, classes: int = len(CLASSES),
                 channels: tuple[int, ...] = ENCODER_CHANNELS) -> None:
        super().__init__()
        self.top = top
        self.lateral = nn.ModuleList(_conv_bn(c, width) for c in channels)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels[-1], width, 1), nn.Sigmoid())
        self.context = _separable(width, dilation=2)
        self.smooth = nn.ModuleList(_separable(width) for _ in channels[:-1])
        self.head = nn.Sequential(nn.Dropout2d(0.1), nn.Conv2d(width, classes, 1))

    def train(self, mode: bool = True) -> "Decoder":
        super().train(mode)
        for module in self.top.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, frozen: list[torch.Tensor]) -> torch.Tensor:
        taps, h = list(frozen), frozen[-1]
        if RETRAINED - 1 not in TAPS:
            taps.pop()
        for i, block in enumerate(self.top, start=RETRAINED):
            h = block(h)
            if i in TAPS:
                taps.append(h)
        p = self.context(self.lateral[-1](taps[-1]) * self.gate(taps[-1]))
        for level in range(len(taps) - 2, -1, -1):
            skip = self.lateral[level](taps[level])
            p = self.smooth[level](F.interpolate(p, size=skip.shape[-2:], mode="bilinear", align_corners=False) + skip)
        return self.head(p)


class ParserNet(nn.Module):
    """Normalised pixels -> class logits at the input's size."""

    def __init__(self, encoder: Encoder, decoder: Decoder) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.decoder(self.encoder(x))
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def build_parts(pretrained: bool = True, width: int = DECODER_WIDTH) -> tuple[Encoder, Decoder]:
    """The frozen encoder and a fresh decoder whose `top` starts from Lite0's own stride-32 blocks, on the offline
    ImageNet weights (random ones for tests)."""
    from outfitter.backbones.efficientnet import build

    lite0 = build(None, pretrained)
    top = nn.Sequential(*lite0.blocks[RETRAINED:])
    return Encoder(lite0).eval(), Decoder(top, width=width)

