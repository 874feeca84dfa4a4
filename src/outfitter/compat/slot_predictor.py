"""Which slot (tops, bottoms, shoes, ...) a photo shows, predicted from its backbone vector.

A catalogue item's slot comes from its category's name (compat/slots.py); a query photo has no category, and
some shop categories have names that say nothing. A multinomial logistic regression on the backbone's unit
vectors answers both; it is small (slots x width floats) and ships as plain JSON lists in a checkpoint's meta.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from outfitter.errors import InputError


@dataclass(frozen=True)
class SlotPredictor:
    """softmax(W v + b) over `slots` for a unit vector v of `backbone`."""

    backbone: str
    slots: tuple[str, ...]
    weight: np.ndarray
    bias: np.ndarray

    @classmethod
    def fit(cls, backbone: str, vectors: np.ndarray, slots: Sequence[str], *, c: float = 10.0) -> "SlotPredictor":
        """Fit on labelled vectors (scikit-learn's multinomial logistic regression, class-balanced)."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(vectors, list(slots))
        return cls(backbone, tuple(str(s) for s in model.classes_), model.coef_.astype(np.float32),
                   model.intercept_.astype(np.float32))

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """[N, slots] probabilities of each vector's slot."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.weight.shape[1]:
            raise InputError(f"slot predictor expects {self.weight.shape[1]}-d {self.backbone} vectors, "
                             f"got shape {vectors.shape}", field="vectors")
        logits = vectors @ self.weight.T + self.bias
        logits -= logits.max(1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(1, keepdims=True)

    def predict(self, vectors: np.ndarray) -> list[str]:
        """The most likely slot of each vector."""
        return [self.slots[k] for k in self.probabilities(vectors).argmax(1)]

    def vote(self, vectors: np.ndarray) -> str:
        """One slot for a group of photos (a shop category): the highest mean probability."""
        return self.slots[int(self.probabilities(vectors).mean(0).argmax())]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (a checkpoint loaded with weights_only accepts them)."""
        return {"backbone": self.backbone, "slots": list(self.slots), "weight": self.weight.tolist(),
                "bias": self.bias.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SlotPredictor":
        """The predictor `to_dict` wrote."""
        try:
            return cls(data["backbone"], tuple(data["slots"]), np.asarray(data["weight"], dtype=np.float32),
                       np.asarray(data["bias"], dtype=np.float32))
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"damaged slot predictor ({error})", field="slot_predictor") from error
