"""Training the parser's decoder over cached encoder features, and the IoU it is scored by."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from outfitter.datasets.street_photos import StreetPhotos
from outfitter.parsing.labels import CLASSES, IGNORE, class_table
from outfitter.parsing.net import CANVAS, build_parts
from outfitter.parsing.train import (
    PRODUCT,
    ParserSettings,
    cache_features,
    class_iou,
    joined,
    pixel_confusion,
    pixel_loss,
    product_samples,
    street_samples,
    train_decoder,
)


@pytest.fixture(scope="module")
def features(street_folder: Path):
    """Cached features of the drawn train (as is and mirrored) and valid photos."""
    data = StreetPhotos(street_folder)
    table, encoder = class_table(data.label_categories), build_parts()[0]
    return (cache_features(street_samples(data.photos("train"), table), encoder, ("plain", "mirror")),
            cache_features(street_samples(data.photos("valid"), table), encoder))


def test_features_are_cached_per_view_with_canvas_labels(features) -> None:
    train, valid = features
    assert len(train) == 12 and len(valid) == 2
    assert [t.dtype for t in train.taps] == [torch.float16] * 3
    assert train.labels.shape == (12, *CANVAS)
    # the drawn photos are narrower than the canvas: the padding is never scored
    assert (train.labels[:, :, 0] == IGNORE).all()


def test_a_trained_decoder_finds_the_drawn_garments(features) -> None:
    train, valid = features
    torch.manual_seed(0)  # the decoder's starting weights, whatever ran before
    _, decoder = build_parts(width=16)
    decoder, report = train_decoder(decoder, train, valid, ParserSettings(epochs=10, batch_size=4, lr=1e-2))
    assert report.losses[-1] < report.losses[0] / 2
    assert report.iou["tops"] > 0.6 and report.iou["bottoms"] > 0.6 and report.iou["background"] > 0.8


def test_product_shots_join_with_one_label_for_all_their_pixels(features, street_folder: Path) -> None:
    train, _ = features
    shot = street_folder / "photos" / "0001.jpg"
    products = cache_features(product_samples([(shot, "tops")]), build_parts()[0])
    both = joined(train, products)
    assert len(both) == len(train) + 1
    inside = both.labels[-1][both.labels[-1] != IGNORE]
    assert set(inside.unique().tolist()) == {PRODUCT + CLASSES.index("tops")}


def test_a_product_pixel_costs_little_as_background_or_its_kind_and_much_as_anything_else() -> None:
    target = torch.full((1, 1, 1), PRODUCT + CLASSES.index("tops"))
    weights = torch.ones(len(CLASSES))

    def cost(name: str) -> float:
        logits = torch.zeros(1, len(CLASSES), 1, 1)
        logits[0, CLASSES.index(name)] = 10.0
        return float(pixel_loss(logits, target, weights))

    assert cost("background") < 0.01 and cost("tops") < 0.01
    assert cost("person") > 9 and cost("bottoms") > 9


def test_iou_counts_each_class_against_the_truth() -> None:
    truth = np.array([[0, 2, 2, IGNORE]])
    predicted = np.array([[0, 2, 3, 3]])
    iou = class_iou(pixel_confusion(truth, predicted))
    assert iou == {"background": 1.0, "tops": 0.5, "bottoms": 0.0}
    assert CLASSES[2:4] == ("tops", "bottoms")
