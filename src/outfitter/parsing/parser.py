"""Find the garments in a photo: a mask, box and confidence per semantic category, offline on a CPU.

The network runs in onnxruntime when it can (exported once per set of weights into the ONNX cache, checked
against torch as the backbones are), else in torch. Its per-pixel class probabilities are read back on the
photo's own grid: each category's pixels, with specks under `MIN_PART` of the photo dropped, form one garment
(a pair of shoes is one garment, as in the training labels) if they cover at least `MIN_SHARE` of the photo.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from outfitter.backbones.efficientnet import LITE_PREPROCESS
from outfitter.backbones import onnx as onnx_runtime
from outfitter.backbones.onnx import (
    INPUT,
    OPSET,
    PixelInput,
    available_cores,
    export_module,
    onnxruntime_available,
    open_session,
    session_errors,
)
from outfitter.errors import InputError
from outfitter.parsing.canvas import Placement, letterbox
from outfitter.parsing.labels import CLASSES, GARMENTS, PERSON
from outfitter.parsing.net import CANVAS, Decoder, ParserNet, build_parts
from outfitter.utils.atomic import atomic_path
from outfitter.utils.digest import module_digest

log = logging.getLogger(__name__)

PARSER_FORMAT = "outfitter-garment-parser/1"
SHIPPED_PARSER = "garment_parser"
MIN_SHARE = 0.002
"""A category covering less of the photo than this is not reported (a few stray pixels are not a garment)."""
MIN_PART = 0.0005
"""Connected pieces of a category smaller than this share of the photo are dropped before its box is taken."""
CROP_SIDE = 256  # crops are made as street-outfits' items: the mask's box on white, padded square, at most 256 px
TOLERANCE = 1e-3  # largest difference allowed between onnxruntime's and torch's probabilities
OUTPUT = "probabilities"
EXPORT_RECIPE = "mirror-mean"  # changed with `PixelParser.forward`, so models exported by an older one are not reused


@dataclass(frozen=True)
class Garment:
    """One garment found in a photo: its semantic category, box [x0, y0, x1, y1) in the photo's pixels, the mean
    probability of its pixels, its share of the photo, and its mask on the parser's grid (the photo as scaled to
    fit the canvas: resize it to the photo's size, nearest neighbour, to lay it over the photo)."""

    category: str
    box: tuple[int, int, int, int]
    confidence: float
    share: float
    mask: np.ndarray = field(repr=False, compare=False)

    def crop(self, image: Image.Image, side: int = CROP_SIDE) -> Image.Image:
        """The garment's pixels on white, cut to its mask's box, padded square, at most `side` pixels."""
        mask = Image.fromarray(self.mask.astype(np.uint8) * 255)
        if mask.size != image.size:
            mask = mask.resize(image.size, Image.NEAREST)
        box = mask.getbbox() or (0, 0, image.width, image.height)
        white = Image.new("RGB", image.size, (255, 255, 255))
        cut = Image.composite(image.convert("RGB"), white, mask).crop(box)
        square = Image.new("RGB", (max(cut.size),) * 2, (255, 255, 255))
        square.paste(cut, ((square.width - cut.width) // 2, (square.height - cut.height) // 2))
        return square if square.width <= side else square.resize((side, side), Image.BILINEAR)


@dataclass(frozen=True)
class ParsedPhoto:
    """What the parser saw: the garments (largest first), and the share of the photo that is a person's own
    pixels (skin, hair) or a garment, which tells a photo of someone from a product shot."""

    garments: list[Garment]
    person_share: float
    worn_share: float
    size: tuple[int, int]


class PixelParser(nn.Module):
    """The parser taking uint8 canvas pixels and returning class probabilities at the canvas size: the mean of the
    photo's and its mirror image's (street-photos valid mIoU over the main garments 0.535 -> 0.546, for twice
    the network's time)."""

    def __init__(self, net: ParserNet) -> None:
        super().__init__()
        self.net = PixelInput(net, LITE_PREPROCESS)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        both = self.net(torch.cat([pixels, pixels.flip(3)])).softmax(1)
        return (both[: len(pixels)] + both[len(pixels):].flip(3)) / 2


def shipped_parser_path() -> Path:
    """The decoder weights shipped inside the package (the encoder's come from the offline Lite0 package)."""
    return Path(str(files("outfitter") / "weights" / f"{SHIPPED_PARSER}.pt"))


def save_decoder(decoder: Decoder, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write a trained decoder (its width, classes and tensors as float16, plus meta such as scores) atomically:
    half the bytes; on three street photos the probabilities moved by at most 0.006 and 0.04% of pixels changed
    class."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in decoder.state_dict().items()}
    payload = {"format": PARSER_FORMAT, "classes": list(CLASSES), "canvas": list(CANVAS),
               "width": decoder.head[-1].in_channels, "state": state, "meta": meta or {}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_decoder(path: str | Path) -> tuple[Decoder, dict[str, Any]]:
    """A decoder saved by `save_decoder`, and its meta; a clear error for any other file."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise InputError("garment parser weights not found", path=path) from exc
    except Exception as exc:  # torch raises many kinds for a file that is not a checkpoint
        raise InputError(f"not a garment parser file ({exc.__class__.__name__})", path=path) from exc
    if not isinstance(payload, dict) or payload.get("format") != PARSER_FORMAT:
        raise InputError(f"not a garment parser file (expected format {PARSER_FORMAT})", path=path)
    if tuple(payload["classes"]) != CLASSES or tuple(payload["canvas"]) != CANVAS:
        raise InputError("garment parser made for other classes or input size", path=path)
    _, decoder = build_parts(pretrained=False, width=int(payload["width"]))
    decoder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state"].items()})
    return decoder.eval(), payload.get("meta", {})


class GarmentParser:
    """Photo -> `ParsedPhoto`: `GarmentParser().parse(Image.open("street.jpg"))`."""

    def __init__(self, weights: str | Path | None = None, *, runtime: str = "auto", cache_dir: Path | None = None,
                 threads: int | None = None, pretrained: bool = True) -> None:
        decoder, self.meta = load_decoder(weights or shipped_parser_path())
        self.model = PixelParser(ParserNet(build_parts(pretrained)[0], decoder)).eval()
        self.session = None
        if runtime not in ("auto", "torch", "onnx"):
            raise InputError(f"unknown runtime {runtime!r}; expected auto, torch or onnx", field="runtime")
        if runtime != "torch" and (onnxruntime_available() or runtime == "onnx"):
            cache = Path(cache_dir) if cache_dir else onnx_runtime.default_cache_dir()
            self.session = self._session(cache, threads or available_cores(), strict=runtime == "onnx")

    @property
    def runtime(self) -> str:
        return "torch" if self.session is None else "onnx"

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 [3, H, W] canvas pixels -> class probabilities [classes, H, W]."""
        batch = np.ascontiguousarray(pixels[None], dtype=np.uint8)
        if self.session is not None:
            return self.session.run([OUTPUT], {INPUT: batch})[0][0]
        with torch.no_grad():
            return self.model(torch.from_numpy(batch)).numpy()[0]

    def parse(self, image: Image.Image, original_size: tuple[int, int] | None = None) -> ParsedPhoto:
        """The garments of an RGB photo; boxes in `original_size` pixels when the photo was decoded smaller."""
        pixels, place = letterbox(image)
        return read_garments(place.crop(self.probabilities(pixels)), place, original_size or image.size)

    def _session(self, cache: Path, threads: int, strict: bool) -> Any:
        """A checked onnxruntime session on the cached export (exporting it once); None to use torch."""
        digest = module_digest(self.model, f"{PARSER_FORMAT}:{EXPORT_RECIPE}:{OPSET}:{CANVAS}")
        path = cache / f"garment-parser-{digest}.onnx"
        try:
            if not path.exists():
                log.info("exporting the garment parser to ONNX at %s (once per set of weights)", path)
                export_module(self.model, torch.zeros(1, 3, *CANVAS, dtype=torch.uint8), path, OUTPUT)
            session = open_session(path, threads)
            pixels = np.random.default_rng(0).integers(0, 256, (1, 3, *CANVAS), dtype=np.uint8)
            with torch.no_grad():
                theirs = self.model(torch.from_numpy(pixels)).numpy()
            difference = float(np.abs(session.run([OUTPUT], {INPUT: pixels})[0] - theirs).max())
        except (*session_errors(), RuntimeError, OSError) as exc:
            if strict:
                raise
            log.warning("cannot run the garment parser in onnxruntime (%s); using torch", exc)
            return None
        if difference > TOLERANCE:
            log.warning("garment parser: onnxruntime differs from torch by %.2g; using torch", difference)
            return None
        return session


def read_garments(probabilities: np.ndarray, place: Placement, photo_size: tuple[int, int]) -> ParsedPhoto:
    """Garments from class probabilities over the photo's part of the canvas ([classes, h, w])."""
    labels = probabilities.argmax(0)
    area = labels.size
    person = int((labels == CLASSES.index(PERSON)).sum())
    garments, worn = [], 0
    for category in GARMENTS:
        mask = _without_specks(labels == CLASSES.index(category), MIN_PART * area)
        pixels = int(mask.sum())
        if pixels < MIN_SHARE * area:
            continue
        worn += pixels
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        box = place.to_photo((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1), photo_size)
        confidence = float(probabilities[CLASSES.index(category)][mask].mean())
        garments.append(Garment(category, box, round(confidence, 4), round(pixels / area, 4), mask))
    garments.sort(key=lambda g: g.share, reverse=True)
    return ParsedPhoto(garments, round((person + worn) / area, 4), round(worn / area, 4), photo_size)


def _without_specks(mask: np.ndarray, min_pixels: float) -> np.ndarray:
    """The mask without its connected pieces smaller than `min_pixels`."""
    from scipy import ndimage  # only when parsing: keeps `import outfitter` light

    pieces, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = np.bincount(pieces.ravel())
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[pieces]
