"""PolaniaNet: frozen stem, trainable head, the SPEC's metric network, and the original checkpoint layout."""

from __future__ import annotations

import torch

from torchvision.models.vgg import cfgs, make_layers

from outfitter.compat import MetricNetwork, PolaniaNet, load_original_polania


def test_structure_and_frozen_stem():
    net = PolaniaNet("efficientnet_lite0", pretrained=False, image_size=32)
    assert all(not p.requires_grad for p in net.stem.parameters())
    assert all(p.requires_grad for p in net.encoder.parameters())
    metric = net.metric
    assert (metric.fc1.in_features, metric.fc1.out_features) == (1280 + 24, 256)
    assert (metric.fc2.in_features, metric.fc2.out_features, metric.fc3.out_features) == (256, 64, 1)
    assert metric.bn1.num_features == 256 and metric.bn2.num_features == 64
    net.train()
    assert not net.stem.training and net.encoder.training


def test_embed_and_symmetric_scores():
    torch.manual_seed(0)
    net = PolaniaNet("efficientnet_lite0", pretrained=False, image_size=32).eval()
    pixels = torch.rand(3, 3, 32, 32)
    stems = net.stem_features(pixels)
    emb = net.embed(stems, torch.rand(3, 24))
    assert emb.shape == (3, net.embed_dim)
    with torch.no_grad():
        assert torch.allclose(net.score_logits(emb, emb.flip(0)), net.score_logits(emb.flip(0), emb))


def test_original_checkpoint_layout_loads(tmp_path):
    torch.manual_seed(0)
    features = make_layers(cfgs["D"])
    metric = MetricNetwork(512 + 24)
    for bn in (metric.bn1, metric.bn2):
        bn.running_mean.uniform_(-1, 1)
    original = {"encoder": {f"vgg.{k}": v for k, v in features.state_dict().items()}, "metric": metric.state_dict()}
    torch.save(original, tmp_path / "polania_original.pth")
    loaded = load_original_polania(tmp_path / "polania_original.pth")
    pixels, hists = torch.rand(2, 3, 64, 64), torch.rand(2, 24)
    with torch.no_grad():
        emb = loaded.embed(loaded.stem_features(pixels), hists)
        assert torch.allclose(emb[:, :512], features(pixels).mean((2, 3)), atol=1e-6)
        assert torch.equal(loaded.score_logits(emb, emb.flip(0)), metric.eval()(emb * emb.flip(0)))
