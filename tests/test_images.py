"""Safe decoding: every bad file becomes a clear ImageError, every colour mode becomes the right RGB pixels."""

from __future__ import annotations

import io
import random
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from outfitter.errors import ImageError
from outfitter.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    color_histogram,
    color_histograms,
    load_image,
    load_pixels,
    resize,
    to_pixels,
    to_rgb,
)


def encode(img: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    """The bytes of img saved in fmt."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """Write data to tmp_path/name and return the path."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


def png_claiming(width: int, height: int, idat: bytes = zlib.compress(b"\0")) -> bytes:
    """A tiny hand-made RGB PNG whose header claims width x height (a bomb's calling card) and holds idat."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def noisy(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    """A random RGB image (compresses poorly, so truncation hits pixel data)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


# --- good files ---------------------------------------------------------------------------------


def test_loads_a_png_from_a_path_as_a_fully_loaded_rgb_image(tmp_path: Path) -> None:
    path = write(tmp_path, "red.png", encode(Image.new("RGB", (5, 3), (255, 0, 0))))
    img = load_image(path)
    assert (img.mode, img.size, img.getpixel((4, 2))) == ("RGB", (5, 3), (255, 0, 0))


def test_loads_uploaded_bytes() -> None:
    img = load_image(encode(noisy(), "JPEG"), name="upload.jpg")
    assert (img.mode, img.size) == ("RGB", (64, 48))


def test_loads_progressive_jpeg_and_jpeg_with_trailing_data(tmp_path: Path) -> None:
    progressive = encode(noisy(), "JPEG", progressive=True)
    assert load_image(progressive).size == (64, 48)
    # Phones append data after the end-of-image marker (e.g. motion photos); that is not truncation.
    assert load_image(encode(noisy(), "JPEG") + b"\xff\xda\x00ftypmp4 trailing video").size == (64, 48)


@pytest.mark.parametrize(
    ("make", "fmt", "pixel"),
    [
        (lambda: Image.new("CMYK", (2, 2), (0, 0, 0, 0)), "TIFF", (255, 255, 255)),
        (lambda: Image.new("CMYK", (2, 2), (255, 0, 0, 0)), "TIFF", (0, 255, 255)),
        (lambda: Image.new("L", (2, 2), 100), "PNG", (100, 100, 100)),
        (lambda: Image.new("1", (2, 2), 1), "PNG", (255, 255, 255)),
        (lambda: Image.new("LA", (2, 2), (100, 255)), "PNG", (100, 100, 100)),
        (lambda: Image.new("LA", (2, 2), (100, 0)), "PNG", (255, 255, 255)),
        (lambda: Image.new("RGBA", (2, 2), (255, 0, 0, 128)), "PNG", (255, 127, 127)),
        (lambda: Image.new("RGBA", (2, 2), (0, 0, 255, 255)), "PNG", (0, 0, 255)),
        (lambda: Image.fromarray(np.full((2, 2), 65535, np.uint16)), "PNG", (255, 255, 255)),
        (lambda: Image.fromarray(np.full((2, 2), 32896, np.uint16)), "PNG", (128, 128, 128)),
    ],
)
def test_every_file_mode_becomes_rgb_with_the_right_pixels(make, fmt: str, pixel: tuple[int, int, int]) -> None:
    img = load_image(encode(make(), fmt))
    assert img.mode == "RGB"
    assert img.getpixel((1, 1)) == pixel


def test_palette_transparency_shows_white() -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255])  # index 0 red, index 1 blue
    img.putpixel((1, 0), 1)
    loaded = load_image(encode(img, "PNG", transparency=1))
    assert loaded.getpixel((0, 0)) == (255, 0, 0)
    assert loaded.getpixel((1, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("mode", "raw", "expected"),
    [
        ("I;16", struct.pack("<2H", 65535, 257), [255, 1]),
        ("I;16B", struct.pack(">2H", 65535, 257), [255, 1]),
        ("I", struct.pack("<2i", 65535, 32896), [255, 128]),
        ("F", struct.pack("<2f", 1.0, 0.5), [255, 128]),
        ("F", struct.pack("<2f", 300.0, 64.0), [255, 64]),
    ],
)
def test_high_depth_modes_scale_to_8_bit(mode: str, raw: bytes, expected: list[int]) -> None:
    img = to_rgb(Image.frombytes(mode, (2, 1), raw))
    assert [img.getpixel((x, 0)) for x in range(2)] == [(v, v, v) for v in expected]


def test_exif_orientation_rotates_the_photo() -> None:
    img = Image.new("RGB", (4, 2), (255, 0, 0))
    img.paste((0, 0, 255), (2, 0, 4, 2))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    loaded = load_image(encode(img, "PNG", exif=exif))
    assert loaded.size == (2, 4)
    assert loaded.getpixel((0, 0)) == (255, 0, 0)  # the left edge is now the top
    assert loaded.getpixel((0, 3)) == (0, 0, 255)


# --- bad files ----------------------------------------------------------------------------------


BAD_FILES = {
    "zero-byte": (lambda: b"", "empty file"),
    "truncated JPEG": (lambda: encode(noisy(), "JPEG")[:600], "truncated"),
    "JPEG cut before its end marker": (lambda: encode(noisy(), "JPEG")[:-2], "truncated"),
    "truncated PNG": (lambda: (d := encode(noisy(), "PNG"))[: len(d) // 2], "truncated"),
    "PNG header only": (lambda: encode(noisy(), "PNG")[:20], "truncated"),
    "corrupt PNG data": (lambda: png_claiming(4, 4, idat=b"not zlib data"), "corrupt image data"),
    "text file": (lambda: b"item_id,category\n1,shoes\n", "not an image (text)"),
    "PDF": (lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not an image (a PDF document)"),
    "random bytes": (lambda: random.Random(0).randbytes(4096), "not an image"),
    "bomb past PIL's own limit": (lambda: png_claiming(100_000, 100_000), "decompression bomb"),
    "bomb past our limit": (lambda: png_claiming(8000, 6000), "decompression bomb"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_files_raise_an_image_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    make, reason = BAD_FILES[kind]
    path = write(tmp_path, "photo.jpg", make())
    with pytest.raises(ImageError, match=re.escape(reason)) as info:
        load_image(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: ")


def test_truncation_is_caught_even_if_someone_set_pils_global(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    jpeg, png = encode(noisy(), "JPEG"), encode(noisy(), "PNG")
    for data in (jpeg[: len(jpeg) // 2], png[: len(png) // 2]):
        with pytest.raises(ImageError, match="truncated"):
            load_image(data)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="file not found"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)


def test_max_pixels_refuses_a_real_image_without_touching_pils_limit() -> None:
    limit_before = Image.MAX_IMAGE_PIXELS
    data = encode(Image.new("RGB", (200, 200)), "PNG")
    with pytest.raises(ImageError, match=r"200x200 = 40,000 pixels to decode, limit 10,000"):
        load_image(data, max_pixels=10_000)
    assert load_image(data, max_pixels=40_000).size == (200, 200)
    assert Image.MAX_IMAGE_PIXELS == limit_before
    assert DEFAULT_MAX_PIXELS == 40_000_000


def test_bytes_errors_use_the_upload_name() -> None:
    with pytest.raises(ImageError, match=r"^shirt\.png: not an image") as info:
        load_image(b"hello", name="shirt.png")
    assert info.value.path == "shirt.png"
    with pytest.raises(ImageError, match=r"^<bytes>: empty file"):
        load_image(b"")


def test_image_suffixes() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp"} <= IMAGE_SUFFIXES


# --- resizing -----------------------------------------------------------------------------------


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", (width, height), (255, 0, 0))
    img.paste((0, 0, 255), (width // 2, 0, width, height))
    return img


def test_squash_resizes_both_sides_without_cropping() -> None:
    out = resize(halves(200, 100), 224)
    assert out.size == (224, 224)
    assert out.getpixel((0, 112)) == (255, 0, 0) and out.getpixel((223, 112)) == (0, 0, 255)
    assert resize(halves(200, 100), (60, 30)).size == (60, 30)


def test_center_crop_keeps_the_middle() -> None:
    img = Image.new("RGB", (300, 100), (0, 255, 0))
    img.paste((255, 0, 0), (0, 0, 60, 100))  # red left edge: cropped away
    out = resize(img, 50, "center_crop")
    assert out.size == (50, 50)
    assert out.getpixel((0, 25)) == (0, 255, 0)


def test_pad_letterboxes_onto_white() -> None:
    out = resize(halves(200, 100), 50, "pad")
    assert out.size == (50, 50)
    assert out.getpixel((25, 2)) == (255, 255, 255)  # band above
    assert out.getpixel((2, 25)) == (255, 0, 0)


def test_unknown_resize_mode() -> None:
    with pytest.raises(ValueError, match="unknown resize mode"):
        resize(halves(4, 4), 2, "stretch")  # type: ignore[arg-type]


# --- model-input pixels ------------------------------------------------------------------------


def rotated_jpeg() -> bytes:
    """A noisy JPEG whose EXIF says to rotate it 90 degrees clockwise."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(noisy(120, 80), "JPEG", exif=exif, quality=90)


PHOTOS = {
    "RGB JPEG": lambda: encode(noisy(300, 400), "JPEG", quality=90),
    "grey JPEG": lambda: encode(noisy(300, 400).convert("L"), "JPEG"),
    "CMYK JPEG": lambda: encode(noisy(300, 400).convert("CMYK"), "JPEG"),
    "EXIF-rotated JPEG": rotated_jpeg,
    "large JPEG (reduced-scale decode)": lambda: encode(noisy(1000, 700), "JPEG"),
    "PNG with alpha": lambda: encode(noisy(100, 60).convert("RGBA"), "PNG"),
}


@pytest.mark.parametrize("kind", PHOTOS)
@pytest.mark.parametrize("mode", ["squash", "center_crop", "pad"])
def test_load_pixels_gives_the_pixels_of_load_image_then_to_pixels(kind: str, mode: str) -> None:
    data = PHOTOS[kind]()
    expected = to_pixels(load_image(data, at_least=64), (64, 48), mode)
    got = load_pixels(data, (64, 48), mode, at_least=64)
    assert got.dtype == torch.uint8 and got.shape == (3, 48, 64)
    assert torch.equal(got, expected)


def test_fill_bytes_before_the_end_marker_are_not_truncation() -> None:
    data = encode(noisy(), "JPEG")
    padded = data[:-2] + b"\xff\xff\xff\xd9"
    assert load_image(padded).size == (64, 48)
    assert torch.equal(load_pixels(padded, 16), load_pixels(data, 16))


def test_a_large_jpeg_decodes_at_reduced_scale_but_never_below_the_asked_size() -> None:
    data = encode(noisy(1000, 700), "JPEG")
    assert load_image(data, at_least=224).size == (500, 350)  # 1/2 scale: 1/4 would give 175 < 224
    assert load_image(data, at_least=100).size == (250, 175)
    assert load_image(data).size == (1000, 700)


@pytest.mark.parametrize("kind", ["truncated JPEG", "JPEG cut before its end marker", "text file", "zero-byte"])
def test_load_pixels_refuses_bad_files_like_load_image(tmp_path: Path, kind: str) -> None:
    make, reason = BAD_FILES[kind]
    path = write(tmp_path, "photo.jpg", make())
    with pytest.raises(ImageError, match=re.escape(reason)):
        load_pixels(path, 32)


def test_pixel_resize_matches_the_pil_modes_in_shape_and_content() -> None:
    img = halves(200, 100)
    squash = to_pixels(img, 50)
    assert squash.shape == (3, 50, 50) and squash[:, 25, 0].tolist() == [255, 0, 0]
    pad = to_pixels(img, 50, "pad")
    assert pad[:, 2, 25].tolist() == [255, 255, 255] and pad[:, 25, 2].tolist() == [255, 0, 0]
    crop = to_pixels(img, 50, "center_crop")
    assert crop[:, 25, 0].tolist() == [255, 0, 0] and crop[:, 25, 49].tolist() == [0, 0, 255]


# --- colour histograms --------------------------------------------------------------------------


def test_histogram_of_a_solid_colour_is_one_hot_per_channel() -> None:
    hist = color_histogram(Image.new("RGB", (50, 30), (255, 0, 128)))
    expected = np.zeros(24, np.float32)
    expected[[7, 8 + 0, 16 + 4]] = 1.0  # 255 -> last bin, 0 -> first, 128/255 = 0.502 -> bin 4
    assert hist.dtype == np.float32 and hist.shape == (24,)
    np.testing.assert_array_equal(hist, expected)


def test_each_channel_sums_to_one() -> None:
    hist = color_histogram(noisy(), bins=16)
    assert hist.shape == (48,)
    np.testing.assert_allclose(hist.reshape(3, 16).sum(1), 1.0, rtol=1e-6)


def test_ones_fall_into_the_last_bin_and_224_tensors_are_not_resized() -> None:
    chw = torch.zeros(3, 224, 224)
    chw[0] = 1.0
    chw[1, :112] = 0.5
    hist = color_histogram(chw).reshape(3, 8)
    assert hist[0, 7] == 1.0 and hist[1, 0] == 0.5 and hist[1, 4] == 0.5 and hist[2, 0] == 1.0
    np.testing.assert_array_equal(color_histogram(chw.numpy()), color_histogram(chw))


def test_pil_input_equals_the_resized_to_tensor_pipeline() -> None:
    img = noisy(300, 200)
    chw = torch.tensor(np.asarray(img.resize((224, 224), Image.Resampling.BILINEAR))).permute(2, 0, 1) / 255
    np.testing.assert_array_equal(color_histogram(img), color_histogram(chw))


def test_batch_equals_single_and_a_plain_numpy_loop() -> None:
    batch = torch.rand(5, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    batch[0, :, :10] = 1.0
    hists = color_histograms(batch)
    assert hists.shape == (5, 24)
    for image, hist in zip(batch, hists):
        np.testing.assert_array_equal(hist.numpy(), color_histogram(image))
        loop = [np.histogram(channel.numpy(), bins=8, range=(0, 1))[0] for channel in image]
        np.testing.assert_allclose(hist.numpy(), np.concatenate([h / h.sum() for h in loop]), rtol=1e-6)


def test_batch_of_another_size_is_resized_and_bad_shapes_refused() -> None:
    hists = color_histograms(torch.rand(2, 3, 64, 48))
    np.testing.assert_allclose(hists.view(2, 3, 8).sum(-1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[N,3,H,W\]"):
        color_histograms(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match=r"\[3,H,W\]"):
        color_histogram(np.zeros((8, 8, 3), np.float32))


def garment_on(background: tuple[int, int, int], garment: tuple[int, int, int] = (200, 30, 40)) -> torch.Tensor:
    """A uint8 [3, 96, 96] picture: a garment-coloured block on a plain background."""
    pixels = torch.tensor(background, dtype=torch.uint8).view(3, 1, 1).repeat(1, 96, 96)
    pixels[:, 20:76, 28:68] = torch.tensor(garment, dtype=torch.uint8).view(3, 1, 1)
    return pixels


def test_garment_histograms_count_the_garment_not_the_background():
    from outfitter.images import garment_histograms

    on_white, on_grey = garment_histograms(torch.stack([garment_on((255, 255, 255)), garment_on((128, 128, 128))]))
    assert on_white.shape == (144,) and torch.allclose((on_white ** 2).sum(), torch.tensor(1.0))
    assert on_white.argmax() == on_grey.argmax() and on_white[on_white.argmax()] > 0.9  # the red garment's bin
    assert float(on_white @ on_grey) > 0.85  # only the blended edge pixels differ


def test_garment_histograms_of_a_plain_picture_count_every_pixel():
    from outfitter.images import garment_histograms

    plain = torch.full((1, 3, 32, 32), 90, dtype=torch.uint8)
    histogram = garment_histograms(plain)[0]
    assert torch.allclose(histogram.max(), torch.tensor(1.0)) and torch.isfinite(histogram).all()
    with pytest.raises(ValueError, match=r"\[N,3,H,W\]"):
        garment_histograms(plain[0])


def test_the_pixel_budget_counts_what_is_decoded():
    from outfitter.images import load_image

    jpeg, png = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (2000, 1500), (90, 40, 20)).save(jpeg, format="JPEG")
    Image.new("RGB", (2000, 1500), (0, 0, 0)).save(png, format="PNG")
    assert load_image(jpeg.getvalue(), max_pixels=1_000_000, at_least=224).size == (500, 375)  # decoded at 1/4
    for data, at_least in ((jpeg.getvalue(), None), (png.getvalue(), 224)):
        with pytest.raises(ImageError, match="3,000,000 pixels to decode, limit 1,000,000"):
            load_image(data, max_pixels=1_000_000, at_least=at_least)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "1", "I;16"])
def test_a_large_photo_of_any_mode_is_shrunk_on_decoding_like_its_composite_on_white(mode: str) -> None:
    from outfitter.images import SHRINK_STRIPE_ROWS

    rgba = np.random.default_rng(3).integers(0, 256, (1000, 900, 4), dtype=np.uint8)
    img = {"P": lambda: Image.fromarray(rgba[..., :3]).quantize(32),
           "I;16": lambda: Image.fromarray(rgba[..., 0].astype(np.uint16) * 257)}.get(
        mode, lambda: Image.fromarray(rgba, "RGBA").convert(mode))()
    if mode == "P":
        img.info["transparency"] = 3
    data = encode(img)
    shrunk = load_image(data, at_least=224)
    assert shrunk.mode == "RGB" and shrunk.size == (225, 250)  # 1/4: both sides stay at least 224
    whole = np.asarray(load_image(data).reduce(4), dtype=int)  # composited on white at full size, then shrunk
    assert np.abs(np.asarray(shrunk, dtype=int) - whole).max() <= 2  # premultiplied rounding only
    assert 1000 // 4 > 3 * SHRINK_STRIPE_ROWS  # several stripes were joined


def test_decodes_wait_for_their_share_of_the_memory_budget() -> None:
    import threading
    import time

    from outfitter.images import MemoryBudget

    budget, running, most = MemoryBudget(100), [0], [0]
    lock = threading.Lock()

    def decode(amount: int) -> None:
        with budget.reserve(amount):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    for amount, allowed in ((60, 1), (50, 2), (500, 1)):  # 500: more than the budget runs, alone
        most[0] = 0
        threads = [threading.Thread(target=decode, args=(amount,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert most[0] == allowed, amount


def test_a_photo_can_be_read_by_uri_from_any_file_system_pyarrow_reads(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = write(tmp_path, "shirt.png", encode(noisy()))
    assert np.array_equal(np.asarray(load_image(f"file://{path}")), np.asarray(load_image(path)))
    with pytest.raises(ImageError, match=r"file:///nowhere/shirt.png: cannot read"):
        load_image("file:///nowhere/shirt.png")
