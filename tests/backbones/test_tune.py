"""`outfitter tune`: retrains a backbone's last stages on a catalogue's categories and saves a usable backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from outfitter.backbones import create_backbone
from outfitter.backbones.tune import TuneSettings, batch_hard_triplet, stratified_split, tune_backbone
from outfitter.datasets import read_folder
from outfitter.errors import InputError
from tests.drawing import draw_item


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    for shape in ("tops", "bottoms", "shoes"):
        (root / shape).mkdir()
        for i in range(6):
            draw_item(shape, (40 * i, 200 - 30 * i, 90), seed=i, size=48).save(root / shape / f"{i}.jpg")
    items = read_folder(root)
    report = tune_backbone(items, root / "tuned.pt", settings=TuneSettings(dim=16, epochs=8, batch_size=4, holdout=0.34),
                           progress=False, current="efficientnet_lite0_fashion")
    return report, items


def test_training_lowers_the_loss_and_reports_precision(tuned):
    report, _ = tuned
    assert report.losses[-1] < report.losses[0]
    assert set(report.before) == set(report.after) == {1, 5, 10}


def test_the_gain_is_measured_against_the_backbone_the_user_has_today(tuned):
    report, items = tuned
    assert report.current_backbone == "efficientnet_lite0_fashion" and set(report.current) == {1, 5, 10}
    assert report.helped == (report.after[10] > report.current[10])
    from outfitter.backbones.tuned import read_tuned

    assert read_tuned(report.path)["meta"]["current"]["precision"] == report.current


def test_the_file_is_a_backbone_for_indexing(tuned):
    report, items = tuned
    backbone = create_backbone(str(report.path))
    from PIL import Image
    vectors = backbone.embed_images([Image.open(items[0].path).convert("RGB"), Image.open(items[7].path).convert("RGB")])
    assert vectors.shape == (2, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)
    assert backbone.name == str(report.path.resolve())


def test_needs_two_categories(tmp_path, photo_folder):
    items = [it for it in read_folder(photo_folder) if it.category == "tops"]
    with pytest.raises(InputError, match="at least two categories"):
        tune_backbone(items, tmp_path / "x.pt", progress=False)


def test_a_foreign_file_is_not_a_backbone(tmp_path):
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not torch")
    with pytest.raises(InputError, match="not a tuned-backbone file"):
        create_backbone(str(bogus))


def test_batch_hard_triplet_is_zero_once_every_category_is_apart_by_the_margin():
    z = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.95, 0.05], [0.0, 1.0], [0.05, 0.95]]), dim=1)
    assert batch_hard_triplet(z, torch.tensor([0, 0, 1, 1])).item() == 0.0


def test_batch_hard_triplet_charges_the_hardest_pair_each_way():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], requires_grad=True)
    loss = batch_hard_triplet(z, torch.tensor([0, 0, 1]), margin=0.2)
    # photos 0 and 1 are alike (cosine 0); each is nearer photo 2 (0.6, 0.8); photo 2 has no partner, so no term
    assert loss.item() == pytest.approx(((0.2 + 0.6 - 0.0) + (0.2 + 0.8 - 0.0)) / 2)
    loss.backward()
    assert z.grad.abs().sum() > 0


def test_the_hard_negative_term_takes_part_in_training(tmp_path, photo_folder):
    losses = {}
    for weight in (0.0, 1.0):
        settings = TuneSettings(dim=8, epochs=4, batch_size=4, holdout=0.25, hard_negatives=weight)
        report = tune_backbone(read_folder(photo_folder), tmp_path / f"{weight}.pt", settings=settings,
                               progress=False, current=None)
        assert report.losses[-1] < report.losses[0]
        losses[weight] = report.losses
    assert losses[1.0][0] > losses[0.0][0]  # same seed and batches: the triplet term adds to the first epoch's loss


def test_holdout_keeps_a_share_of_every_class():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 2)
    train, held = stratified_split(labels, 0.2, seed=0)
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(15))
    assert np.bincount(labels[held], minlength=3).tolist() == [2, 1, 0]


def test_frozen_features_match_the_base_backbone_in_use(lite0):
    """Tuning must see the stem exactly as indexing will (eval-mode BatchNorm), or the tuned part is mistrained."""
    from outfitter.backbones.tuned import tuned_net

    net = tuned_net("efficientnet_lite0", 8)
    x = lite0.preprocess(draw_item("tops", (200, 30, 30), 1))[None]
    with torch.no_grad():
        torch.testing.assert_close(net.head(net.stem(x)).flatten(1), lite0.model(x), rtol=1e-4, atol=1e-5)
