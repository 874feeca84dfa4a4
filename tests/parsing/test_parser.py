"""The shipped garment parser on a real street photo, and how probabilities become garments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from outfitter.errors import InputError
from outfitter.parsing import GarmentParser
from outfitter.parsing.canvas import Placement, letterbox
from outfitter.parsing.labels import CLASSES
from outfitter.parsing.net import CANVAS, build_parts
from outfitter.parsing.parser import load_decoder, read_garments, save_decoder

PERSON = Path(__file__).parents[1] / "data" / "street" / "person.jpg"


@pytest.fixture(scope="module")
def parser() -> GarmentParser:
    return GarmentParser()


def test_a_street_photo_gives_its_garments_in_place(parser: GarmentParser) -> None:
    image = Image.open(PERSON).convert("RGB")
    parsed = parser.parse(image)
    found = {g.category: g for g in parsed.garments}
    assert {"tops", "bottoms", "shoes"} <= set(found)
    assert parsed.size == image.size
    for garment in parsed.garments:
        x0, y0, x1, y1 = garment.box
        assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height
        assert 0 < garment.confidence <= 1
        assert garment.mask.shape[0] / garment.mask.shape[1] == pytest.approx(image.height / image.width, rel=0.01)
    middle = {c: (found[c].box[1] + found[c].box[3]) / 2 for c in ("tops", "bottoms", "shoes")}
    assert middle["tops"] < middle["bottoms"] < middle["shoes"]
    assert parsed.person_share > parsed.worn_share > 0.1


def test_boxes_are_given_in_the_original_photo_pixels(parser: GarmentParser) -> None:
    image = Image.open(PERSON).convert("RGB")
    small = image.resize((image.width // 2, image.height // 2))
    full, half = parser.parse(image), parser.parse(small, original_size=image.size)
    for a, b in zip(full.garments, half.garments):
        assert a.category == b.category
        assert np.abs(np.array(a.box) - np.array(b.box)).max() <= 0.05 * image.height


def test_onnxruntime_and_torch_find_the_same_garments(parser: GarmentParser) -> None:
    assert parser.runtime == "onnx"
    image = Image.open(PERSON).convert("RGB")
    pixels, _ = letterbox(image)
    in_torch = GarmentParser(runtime="torch").probabilities(pixels)
    assert np.abs(parser.probabilities(pixels) - in_torch).max() < 1e-3


def test_a_crop_is_the_garment_on_white_padded_square(parser: GarmentParser) -> None:
    image = Image.open(PERSON).convert("RGB")
    bottoms = next(g for g in parser.parse(image).garments if g.category == "bottoms")
    crop = bottoms.crop(image)
    assert crop.width == crop.height <= 256
    corners = np.asarray(crop)[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).all()


def probabilities_with(regions: dict[str, tuple[int, int, int, int]], size=(40, 60)) -> np.ndarray:
    """Class probabilities [classes, h, w]: background everywhere but in the given (x0, y0, x1, y1) regions."""
    probs = np.full((len(CLASSES), size[1], size[0]), 0.01, dtype=np.float32)
    probs[0] = 0.9
    for name, (x0, y0, x1, y1) in regions.items():
        probs[:, y0:y1, x0:x1] = 0.01
        probs[CLASSES.index(name), y0:y1, x0:x1] = 0.8
    return probs


def test_garments_are_read_back_with_boxes_in_photo_pixels_and_specks_dropped() -> None:
    probs = probabilities_with({"tops": (10, 5, 30, 25), "bags": (0, 59, 1, 60), "person": (15, 0, 25, 5)})
    place = Placement((40, 60), (40, 60), (0, 0))
    parsed = read_garments(probs, place, (400, 600))
    assert [(g.category, g.box, g.confidence) for g in parsed.garments] == [("tops", (100, 50, 300, 250), 0.8)]
    assert parsed.worn_share == pytest.approx(400 / 2400, abs=1e-3)
    assert parsed.person_share == pytest.approx(450 / 2400, abs=1e-3)


def test_a_photo_is_letterboxed_and_placed_back() -> None:
    pixels, place = letterbox(Image.new("RGB", (200, 100), (255, 0, 0)))
    assert pixels.shape == (3, *CANVAS)
    assert place.inner == (320, 160) and place.offset == (0, 160)
    assert (pixels[:, 160:320] == np.array([255, 0, 0])[:, None, None]).all()
    assert place.to_photo((0, 0, 320, 160), (200, 100)) == (0, 0, 200, 100)


def test_decoder_files_round_trip_and_others_are_refused(tmp_path: Path) -> None:
    decoder = build_parts(pretrained=False, width=8)[1].eval()
    path = save_decoder(decoder, tmp_path / "parser.pt", {"valid_miou_main": 0.5})
    loaded, meta = load_decoder(path)
    assert meta == {"valid_miou_main": 0.5}
    for saved, original in zip(loaded.state_dict().values(), decoder.state_dict().values()):
        assert torch.allclose(saved, original, rtol=1e-3, atol=1e-4)  # kept as float16
    (tmp_path / "other.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="other.pt"):
        load_decoder(tmp_path / "other.pt")
    with pytest.raises(InputError, match="missing.pt"):
        GarmentParser(tmp_path / "missing.pt")

