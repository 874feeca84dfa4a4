"""Slot predictor: fits labelled vectors, predicts and votes, survives a JSON round trip, refuses bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from outfitter.compat.slot_predictor import SlotPredictor
from outfitter.errors import InputError


def clustered(n: int = 40, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit vectors around one centre per slot."""
    rng = np.random.default_rng(seed)
    centres = {"tops": np.eye(8)[0], "shoes": np.eye(8)[1], "bags": np.eye(8)[2]}
    slots = [list(centres)[k % 3] for k in range(n)]
    vectors = np.stack([centres[s] + 0.2 * rng.standard_normal(8) for s in slots])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), slots


def test_fits_predicts_and_votes():
    vectors, slots = clustered()
    predictor = SlotPredictor.fit("toy", vectors, slots)
    test_vectors, test_slots = clustered(seed=1)
    assert predictor.predict(test_vectors) == test_slots
    assert predictor.vote(test_vectors[[0, 3, 6, 1]]) == "tops"
    assert np.allclose(predictor.probabilities(test_vectors).sum(1), 1.0)


def test_round_trips_through_json():
    predictor = SlotPredictor.fit("toy", *clustered())
    again = SlotPredictor.from_dict(json.loads(json.dumps(predictor.to_dict())))
    vectors, _ = clustered(seed=2)
    np.testing.assert_allclose(again.probabilities(vectors), predictor.probabilities(vectors), atol=1e-6)


def test_refuses_vectors_of_another_width_and_damaged_dicts():
    predictor = SlotPredictor.fit("toy", *clustered())
    with pytest.raises(InputError, match="expects 8-d toy vectors"):
        predictor.predict(np.zeros((2, 5)))
    with pytest.raises(InputError, match="damaged slot predictor"):
        SlotPredictor.from_dict({"backbone": "toy"})
