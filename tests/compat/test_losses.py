"""MAP loss terms against a direct loop computation; BCE and the base class's shape checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from outfitter.compat import BCELoss, MAPLoss, PolaniaNet


@pytest.fixture(scope="module")
def net() -> PolaniaNet:
    torch.manual_seed(0)
    return PolaniaNet("efficientnet_lite0", pretrained=False, image_size=32)


def matrix_normal_loop(weight: torch.Tensor) -> float:
    """tr(W Lambda^-1 W^T), Lambda = I * ||W||_F^2, summed row by row."""
    w = weight.detach().double()
    frob = sum(float(row @ row) for row in w)
    lam_inv = torch.eye(w.shape[1], dtype=torch.float64) / frob
    return sum(float(row @ lam_inv @ row) for row in w)


def test_terms_match_a_direct_computation(net):
    terms = MAPLoss().terms(net)
    expected_mn = matrix_normal_loop(net.metric.fc1.weight) + matrix_normal_loop(net.metric.fc2.weight)
    assert terms["matrix_normal"].item() == pytest.approx(expected_mn, rel=1e-5)
    filters = [p for n, p in net.encoder.named_parameters() if p.ndim >= 2]
    assert terms["encoder_l1"].item() == pytest.approx(sum(p.abs().sum().item() for p in filters), rel=1e-5)
    assert terms["fc3_l1"].item() == pytest.approx(sum(abs(w.item()) for w in net.metric.fc3.weight.flatten()), rel=1e-6)


def test_total_is_bce_plus_weighted_priors(net):
    logits, labels = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([1.0, 0.0, 0.0])
    loss = MAPLoss(l1=1e-4, l2=1e-5, l3=1e-5)
    terms = loss.terms(net)
    expected = F.binary_cross_entropy(torch.sigmoid(logits), labels) + 1e-4 * terms["matrix_normal"] \
        + 1e-5 * terms["encoder_l1"] + 1e-5 * terms["fc3_l1"]
    assert loss(logits, labels, net).item() == pytest.approx(expected.item(), rel=1e-5)


def test_matrix_normal_gradient_treats_lambda_as_constant(net):
    weight = net.metric.fc2.weight
    net.zero_grad()
    MAPLoss().terms(net)["matrix_normal"].backward()
    fc2_only = 2 * weight.detach() / weight.detach().pow(2).sum()
    assert torch.allclose(weight.grad, fc2_only, rtol=1e-4)
    net.zero_grad()


def test_bce_loss_and_shape_checks():
    logits, labels = torch.tensor([0.5, -0.5]), torch.tensor([1.0, 0.0])
    assert float(BCELoss()(logits, labels)) == pytest.approx(float(F.binary_cross_entropy_with_logits(logits, labels)))
    with pytest.raises(ValueError, match="expected logits"):
        BCELoss()(logits[:, None], labels)
