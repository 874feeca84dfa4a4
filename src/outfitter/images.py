"""Safe photo decoding, resizing and colour histograms: every image outfitter reads passes through here."""

from __future__ import annotations

import io
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError
from torchvision.io import ImageReadMode, decode_jpeg

from outfitter.errors import ImageError

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest width*height decoded by default (a 40-megapixel photo); larger is refused as a possible bomb."""

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
"""File suffixes treated as photos when scanning a folder."""

ResizeMode = Literal["squash", "center_crop", "pad"]

DECODE_BUDGET_BYTES = 200 * 2**20
"""Memory that photos being decoded at once, by all threads of a process, may take (see MemoryBudget)."""

SHRINK_STRIPE_ROWS = 16  # output rows per stripe when an image is converted while shrinking
_REDUCIBLE = frozenset({"L", "RGB", "CMYK", "YCbCr", "I", "F"})  # modes a box filter may shrink as they are
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}

_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)
_SIGNATURES = (
    (b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF")
)
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # one 0xff, not a run: 10x faster, same ends
_JPEG_NO_LENGTH = frozenset({0x01, 0xD8})
_JPEG_EOI = 0xD9
_WHITE = (255, 255, 255)


def load_image(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    at_least: int | None = None,
) -> Image.Image:
    """Decode a photo (a path, or an upload's bytes) into a fully loaded, upright RGB image, or raise ImageError.

    With `at_least`, a JPEG may be decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) as long as both
    sides stay at least that many pixels: a 2000-pixel photo headed for 224x224 then decodes several times faster.
    """
    label, data = _photo_bytes(source, name)
    img = _open(data, label, max_pixels, at_least)
    if at_least is not None and img.format == "JPEG":
        img.draft("RGB", _draft_size(img.size, at_least))
    with DECODE_BUDGET.reserve(_peak_bytes(img)):
        img = _load(img, label)
        return to_rgb(img if at_least is None else _shrunk(img, at_least), name=label)


def photo_size(source: str | Path | bytes, *, name: str | None = None) -> tuple[int, int]:
    """A photo's upright (width, height) from its header alone (EXIF orientations 5-8 swap the sides)."""
    label, data = _photo_bytes(source, name)
    img = _open(data, label, DEFAULT_MAX_PIXELS)
    orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    return (img.height, img.width) if orientation in (5, 6, 7, 8) else img.size


def to_rgb(img: Image.Image, *, name: str | None = None) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB: alpha over white, 16-bit and float scaled, CMYK and palettes converted."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _to_8bit(img).convert("RGB")
    if img.has_transparency_data:
        return _over_white(img.convert("RGBA"))
    if img.mode == "RGB":
        return img
    try:
        return img.convert("RGB")
    except ValueError as e:
        raise ImageError(f"unsupported colour mode {img.mode}", path=name) from e


def resize(img: Image.Image, size: int | tuple[int, int], mode: ResizeMode = "squash") -> Image.Image:
    """Resize to size (an int, or (width, height) as in PIL) by squashing, centre-cropping or letterboxing on white."""
    width, height = (size, size) if isinstance(size, int) else size
    if mode == "squash":
        return img.resize((width, height), Image.Resampling.BILINEAR)
    if mode == "center_crop":
        return _center_crop(img, width, height)
    if mode == "pad":
        return _pad(img, width, height)
    raise ValueError(f"unknown resize mode {mode!r}; expected 'squash', 'center_crop' or 'pad'")


def to_pixels(img: Image.Image, size: int | tuple[int, int], mode: ResizeMode = "squash") -> torch.Tensor:
    """An RGB image resized as `resize` does, as a uint8 [3, H, W] tensor (torch's vectorised antialiased resize).

    The model-input path: several times faster than PIL's resize, and uint8 is a quarter of float32 to move.
    """
    return resize_pixels(torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1), size, mode)


def resize_pixels(pixels: torch.Tensor, size: int | tuple[int, int], mode: ResizeMode = "squash") -> torch.Tensor:
    """uint8 [3, h, w] pixels squashed, centre-cropped or letterboxed on white to size (int or (width, height))."""
    width, height = (size, size) if isinstance(size, int) else size
    if mode == "squash":
        return TF.resize(pixels, [height, width], antialias=True)
    if mode == "center_crop":
        return _center_crop_pixels(pixels, width, height)
    if mode == "pad":
        return _pad_pixels(pixels, width, height)
    raise ValueError(f"unknown resize mode {mode!r}; expected 'squash', 'center_crop' or 'pad'")


def load_pixels(
    source: str | Path | bytes,
    size: int | tuple[int, int],
    mode: ResizeMode = "squash",
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    at_least: int | None = None,
) -> torch.Tensor:
    """`to_pixels(load_image(source, ...), size, mode)`, faster: the same checks, errors and pixels.

    A JPEG that would decode at full scale anyway (RGB or grey) is decoded by torchvision's libjpeg-turbo
    binding straight into a tensor: the same pixels as PIL (checked identical) without PIL's copies, about
    1.2 instead of 2.2 CPU ms for a 400x534 photo. Everything else goes through PIL.
    """
    label, data = _photo_bytes(source, name)
    img = _open(data, label, max_pixels, at_least)
    if img.format != "JPEG" or img.mode not in ("RGB", "L") or _draft_scale(img.size, at_least) > 1:
        return to_pixels(load_image(data, name=label, max_pixels=max_pixels, at_least=at_least), size, mode)
    with DECODE_BUDGET.reserve(_peak_bytes(img)):
        try:
            pixels = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB,
                                 apply_exif_orientation=True)
        except RuntimeError as e:
            raise _decode_failure(e, label) from e
        return resize_pixels(pixels, size, mode)


def color_histogram(
    img: Image.Image | np.ndarray | torch.Tensor, bins: int = 8, size: int = 224
) -> np.ndarray:
    """The SPEC's colour feature: `bins` bins per RGB channel over [0,1], each channel summing to 1 (3*bins floats)."""
    return color_histograms(_as_chw(img, size)[None], bins=bins, size=size)[0].cpu().numpy()


def color_histograms(batch: torch.Tensor, bins: int = 8, size: int = 224) -> torch.Tensor:
    """Colour histograms of a [N,3,H,W] batch in [0,1], vectorised; row i equals color_histogram(batch[i])."""
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a [N,3,H,W] batch, got shape {tuple(batch.shape)}")
    x = batch.float()
    if tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    n = x.shape[0]
    index = (x * bins).floor().clamp(0, bins - 1).long().flatten(2)
    offsets = torch.arange(n * 3, device=x.device).view(n, 3, 1) * bins
    counts = torch.bincount((index + offsets).flatten(), minlength=n * 3 * bins).view(n, 3, bins).float()
    return (counts / counts.sum(-1, keepdim=True)).flatten(1)


GARMENT_BINS = (12, 3, 4)  # hue x saturation x value: 144 bins
GARMENT_SIDE = 64  # histograms are taken at this size: a 224 px input gives the same bins 12x faster
BACKGROUND_DISTANCE = 0.12  # a pixel this close (max over RGB, in [0,1]) to the border colour is background
MIN_GARMENT_SHARE = 0.05  # below this share of garment pixels the whole picture is counted


def garment_histograms(pixels: torch.Tensor, bins: tuple[int, int, int] = GARMENT_BINS) -> torch.Tensor:
    """Square-rooted HSV histograms [N, prod(bins)] of the garment pixels of a uint8 [N,3,H,W] batch.

    A product shot or a cut-out garment sits on a plain background, so a histogram of the whole picture mostly
    counts background: pixels close to the picture's border colour (its median) are left out. The square root
    makes a dot product of two histograms their Bhattacharyya coefficient.
    """
    if pixels.ndim != 4 or pixels.shape[1] != 3:
        raise ValueError(f"expected a [N,3,H,W] batch, got shape {tuple(pixels.shape)}")
    x = F.interpolate(pixels.float().div(255.0), size=(GARMENT_SIDE, GARMENT_SIDE), mode="bilinear",
                      antialias=True, align_corners=False).clamp_(0.0, 1.0)
    weights = _garment_mask(x).flatten(1)
    codes = _hsv_codes(x, bins).flatten(1)
    n, width = x.shape[0], bins[0] * bins[1] * bins[2]
    offsets = torch.arange(n).view(n, 1) * width
    counts = torch.bincount((codes + offsets).flatten(), weights=weights.flatten(), minlength=n * width).view(n, width)
    return (counts / counts.sum(1, keepdim=True)).sqrt().float()


def _garment_mask(x: torch.Tensor) -> torch.Tensor:
    """1 for pixels unlike the border's median colour, else 0; all ones where too few pixels remain."""
    border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)
    background = border.median(dim=-1).values[..., None, None]
    mask = ((x - background).abs().amax(dim=1) > BACKGROUND_DISTANCE).float()
    sparse = mask.flatten(1).mean(1) < MIN_GARMENT_SHARE
    mask[sparse] = 1.0
    return mask


def _hsv_codes(x: torch.Tensor, bins: tuple[int, int, int]) -> torch.Tensor:
    """Each pixel's HSV bin number [N, H, W] of an RGB batch in [0,1]."""
    r, g, b = x.unbind(1)
    high, low = x.amax(dim=1), x.amin(dim=1)
    chroma = high - low
    safe = chroma.clamp_min(1e-12)
    hue = torch.where(high == r, ((g - b) / safe) % 6, torch.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4))
    hue = torch.where(chroma > 0, hue / 6, torch.zeros_like(hue))
    sat = torch.where(high > 0, chroma / high.clamp_min(1e-12), torch.zeros_like(high))
    hb, sb, vb = bins
    h = (hue * hb).long().clamp_(0, hb - 1)
    s = (sat * sb).long().clamp_(0, sb - 1)
    v = (high * vb).long().clamp_(0, vb - 1)
    return (h * sb + s) * vb + v


def _photo_bytes(source: str | Path | bytes, name: str | None) -> tuple[str, bytes]:
    """The name errors will use and the photo's bytes (a path is read), refusing an empty file."""
    label = name or ("<bytes>" if isinstance(source, bytes) else str(source))
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, str) and is_uri(source):
        data = _read_uri(source)
    else:
        data = _read(Path(source), label)
    if not data:
        raise ImageError("empty file (0 bytes)", path=label)
    return label, data


def is_uri(path: str) -> bool:
    """Whether a photo's location is a URI (`s3://...`, `gs://...`, `file://...`) rather than a local path."""
    return _URI.match(path) is not None


def _read_uri(uri: str) -> bytes:
    """A photo's bytes from any file system pyarrow reads (S3, GCS, HDFS, local `file://`), or an ImageError."""
    try:
        from pyarrow import fs
    except ImportError:
        raise ImageError("reading photos by URI needs pyarrow (pip install 'outfitter[ray]')", path=uri) from None
    try:
        filesystem, path = fs.FileSystem.from_uri(uri)
        with filesystem.open_input_stream(path) as stream:
            return stream.read()
    except (OSError, ValueError) as e:  # pyarrow raises these for missing files, bad URIs and network failures
        raise ImageError(f"cannot read ({e})", path=uri) from e


def _read(path: Path, label: str) -> bytes:
    """Read a photo's bytes, turning a missing or unreadable file into an ImageError."""
    if not path.exists():
        raise ImageError("file not found", path=label)
    if not path.is_file():
        raise ImageError("not a file", path=label)
    try:
        return path.read_bytes()
    except OSError as e:
        raise ImageError(f"cannot read file ({e.strerror or e})", path=label) from e


def _open(data: bytes, label: str, max_pixels: int, at_least: int | None = None) -> ImageFile.ImageFile:
    """Identify the format and check size and completeness from the header, before any pixels are decoded.

    `max_pixels` bounds the pixels that will be decoded: a JPEG decoded at reduced scale (`at_least`) counts
    at that scale, so a 48-megapixel phone photo passes where a 36-megapixel PNG (decoded whole) does not.
    """
    try:
        img = Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError:
        raise ImageError(_unidentified_reason(data), path=label) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"too large, possibly a decompression bomb ({e})", path=label) from None
    except _DECODE_ERRORS as e:
        raise _decode_failure(e, label) from e
    scale = _draft_scale(img.size, at_least) if img.format == "JPEG" else 1
    if (img.width // scale) * (img.height // scale) > max_pixels:
        raise ImageError(
            f"too large ({img.width}x{img.height} = {img.width * img.height:,} pixels to decode, limit "
            f"{max_pixels:,}), possibly a decompression bomb",
            path=label,
        )
    if not _is_complete(data, img.format):
        raise ImageError(f"truncated file (the {img.format} data ends before its end marker)", path=label)
    return img


def _load(img: ImageFile.ImageFile, label: str) -> Image.Image:
    """Decode the pixels and apply the EXIF orientation, turning PIL's failures into ImageErrors."""
    try:
        img.load()
        ImageOps.exif_transpose(img, in_place=True)  # in place: no copy of an upright photo
        return img
    except _DECODE_ERRORS as e:
        raise _decode_failure(e, label) from e


def _decode_failure(error: Exception, label: str) -> ImageError:
    """An ImageError for a PIL decoding failure, saying 'truncated' when PIL ran out of data."""
    reason = "truncated file" if "truncated" in str(error).lower() else "corrupt image data"
    return ImageError(f"{reason} ({error})", path=label)


def _unidentified_reason(data: bytes) -> str:
    """Say what bytes PIL could not identify look like, so the user sees 'a PDF document' rather than a PIL error."""
    for signature, fmt in _SIGNATURES:
        if data.startswith(signature):
            return f"corrupt or truncated {fmt} header"
    if data.startswith(b"%PDF"):
        return "not an image (a PDF document)"
    if data[4:8] == b"ftyp":
        return "not an image (an ISO media file such as HEIC, AVIF or MP4; convert it to JPEG or PNG)"
    sample = data[:1024]
    if b"\x00" not in sample and sample.decode("utf-8", errors="replace").count("\ufffd") <= 1:
        return "not an image (text)"
    return "not an image (unrecognised format)"


def _is_complete(data: bytes, fmt: str | None) -> bool:
    """Whether a JPEG or PNG reaches its end marker: PIL pads truncated files if LOAD_TRUNCATED_IMAGES is set."""
    if fmt in ("JPEG", "MPO"):
        return _jpeg_has_end(data)
    if fmt == "PNG":
        return _png_has_end(data)
    return True


def _jpeg_has_end(data: bytes) -> bool:
    """Walk the JPEG segments from SOI (skipping each by its length, scanning entropy data) until EOI."""
    pos = 2
    while match := _JPEG_MARKER.search(data, pos):
        marker, pos = data[match.end() - 1], match.end()
        if marker == _JPEG_EOI:
            return True
        if marker not in _JPEG_NO_LENGTH:
            if pos + 2 > len(data):
                return False
            pos += int.from_bytes(data[pos : pos + 2], "big")
    return False


def _png_has_end(data: bytes) -> bool:
    """Walk the PNG chunks from the signature until IEND."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IEND":
            return True
        pos += 12 + length
    return False


def _to_8bit(img: Image.Image) -> Image.Image:
    """Scale 16-bit (I;16*, and I as PIL opens 16-bit files) or float (F: [0,1], else [0,255]) pixels to 8-bit L."""
    values = np.asarray(img, dtype=np.float64)
    if img.mode != "F":
        values = values / 257.0
    elif values.size and values.max() <= 1.0:
        values = values * 255.0
    return Image.fromarray(np.rint(np.clip(values, 0, 255)).astype(np.uint8), mode="L")


def _over_white(rgba: Image.Image) -> Image.Image:
    """Composite an RGBA image onto white, as a product photo with a transparent background is meant to be seen."""
    background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _center_crop(img: Image.Image, width: int, height: int) -> Image.Image:
    """Scale so the image covers width x height, then cut out the centre."""
    scale = max(width / img.width, height / img.height)
    scaled = img.resize(
        (max(width, round(img.width * scale)), max(height, round(img.height * scale))),
        Image.Resampling.BILINEAR,
    )
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def _center_crop_pixels(pixels: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Cut the largest centred box of the target's aspect ratio out of [3, h, w] pixels and resize it."""
    h, w = pixels.shape[1:]
    scale = max(width / w, height / h)
    box_w, box_h = min(w, round(width / scale)), min(h, round(height / scale))
    top, left = (h - box_h) // 2, (w - box_w) // 2
    return TF.resized_crop(pixels, top, left, box_h, box_w, [height, width], antialias=True)


def _pad_pixels(pixels: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Resize [3, h, w] pixels to fit inside width x height, centred on white."""
    h, w = pixels.shape[1:]
    scale = min(width / w, height / h)
    inner = TF.resize(pixels, [max(1, round(h * scale)), max(1, round(w * scale))], antialias=True)
    canvas = torch.full((3, height, width), 255, dtype=torch.uint8)
    top, left = (height - inner.shape[1]) // 2, (width - inner.shape[2]) // 2
    canvas[:, top : top + inner.shape[1], left : left + inner.shape[2]] = inner
    return canvas


def _shrunk(img: Image.Image, at_least: int) -> Image.Image:
    """The image shrunk by the largest whole factor that keeps both sides at least `at_least`, with a box filter
    (as JPEG draft decoding does for JPEGs): a 25-megapixel PNG headed for 224x224 is carried on as a small one.
    Modes that need converting first are converted a stripe at a time, so no full-size copy is ever made."""
    factor = min(img.width // at_least, img.height // at_least)
    if factor < 2:
        return img
    if img.mode in _REDUCIBLE:
        return img.reduce(factor)
    rows = SHRINK_STRIPE_ROWS * factor
    stripes = [_shrunk_stripe(img.crop((0, top, img.width, min(top + rows, img.height))), factor)
               for top in range(0, img.height, rows)]
    out = Image.new(stripes[0].mode, (stripes[0].width, sum(s.height for s in stripes)))
    for n, stripe in enumerate(stripes):
        out.paste(stripe, (0, n * SHRINK_STRIPE_ROWS))
    return out.convert("RGBA") if out.mode == "RGBa" else out


def _shrunk_stripe(stripe: Image.Image, factor: int) -> Image.Image:
    """One stripe in a mode a box filter can average, shrunk: transparent pixels premultiplied (so compositing on
    white afterwards gives what shrinking the composite would), bit and 16-bit images as L and I, palettes as RGB."""
    if stripe.has_transparency_data:
        rgba = stripe if stripe.mode == "RGBA" else stripe.convert("RGBA")
        return rgba.convert("RGBa").reduce(factor)
    if stripe.mode == "1" or stripe.mode.startswith("I;16"):
        return stripe.convert("L" if stripe.mode == "1" else "I").reduce(factor)
    return stripe.convert("RGB").reduce(factor)


def _peak_bytes(img: Image.Image) -> int:
    """The memory a decoded image takes (PIL keeps 1-byte modes in one byte a pixel, 16-bit in two, all others
    in four); shrinking adds only a stripe."""
    return img.width * img.height * _BYTES_PER_PIXEL.get(img.mode, 4)


class MemoryBudget:
    """Bounds the memory that decodes running at once take, across threads: a decode waits until its share fits
    (one larger than the whole budget waits until it runs alone), so eight huge uploads at once cannot add up."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use = 0
        self._free = threading.Condition()

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        """Hold `amount` of the budget while the block runs."""
        amount = min(amount, self.limit)
        with self._free:
            self._free.wait_for(lambda: self._in_use + amount <= self.limit)
            self._in_use += amount
        try:
            yield
        finally:
            with self._free:
                self._in_use -= amount
                self._free.notify_all()


DECODE_BUDGET = MemoryBudget(DECODE_BUDGET_BYTES)


def _draft_size(size: tuple[int, int], at_least: int) -> tuple[int, int]:
    """The size to ask JPEG draft decoding for so that neither side ends below `at_least` (or the photo's own)."""
    return min(size[0], at_least), min(size[1], at_least)


def _draft_scale(size: tuple[int, int], at_least: int | None) -> int:
    """The reduction (1, 2, 4 or 8) JPEG draft decoding applies for `at_least`, as PIL chooses it."""
    if at_least is None:
        return 1
    fits = min(size[0] // min(size[0], at_least), size[1] // min(size[1], at_least))
    return max(scale for scale in (1, 2, 4, 8) if scale <= fits)


def _pad(img: Image.Image, width: int, height: int) -> Image.Image:
    """Scale so the image fits inside width x height, then centre it on a white canvas."""
    scale = min(width / img.width, height / img.height)
    inner = img.resize(
        (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BILINEAR
    )
    canvas = Image.new(img.mode, (width, height), "white")
    canvas.paste(inner, ((width - inner.width) // 2, (height - inner.height) // 2))
    return canvas


def _as_chw(img: Image.Image | np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """A [3,H,W] float tensor in [0,1]: PIL images are made RGB and squashed to size x size, as in the SPEC."""
    if isinstance(img, Image.Image):
        pixels = np.asarray(resize(to_rgb(img), size), dtype=np.float32) / 255.0
        return torch.from_numpy(pixels).permute(2, 0, 1)
    chw = torch.as_tensor(img, dtype=torch.float32)
    if chw.ndim != 3 or chw.shape[0] != 3:
        raise ValueError(f"expected a [3,H,W] image in [0,1], got shape {tuple(chw.shape)}")
    return chw
