"""PNG figures for training and evaluation, drawn with matplotlib's Agg canvas (no pyplot global state)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve


def plot_training_curves(history: Sequence[Mapping[str, float]], path: str | Path) -> Path:
    """Train and validation loss (left) and validation AUC (right) per epoch."""
    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(9, 3.5), layout="tight")
    loss, auc = figure.subplots(1, 2)
    loss.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    loss.plot(epochs, [row["valid_loss"] for row in history], marker="o", label="validation")
    loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    loss.legend()
    auc.plot(epochs, [row["valid_auc"] for row in history], marker="o", color="tab:green")
    auc.set(xlabel="epoch", ylabel="AUC", title="Validation compatibility AUC", ylim=(0.0, 1.0))
    return _save(figure, path)


def plot_roc(labels: Sequence[int], scores: Sequence[float], path: str | Path) -> Path:
    """The ROC curve of outfit scores (NaN scores left out), with its AUC in the title."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    keep = ~np.isnan(scores)
    fpr, tpr, _ = roc_curve(labels[keep], scores[keep])
    figure = Figure(figsize=(4, 4), layout="tight")
    axes = figure.subplots()
    axes.plot(fpr, tpr, label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate",
             title=f"Compatibility ROC (AUC {roc_auc_score(labels[keep], scores[keep]):.3f})")
    axes.legend(loc="lower right")
    return _save(figure, path)


def _save(figure: Figure, path: str | Path) -> Path:
    """Render the figure to a PNG file, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=100)
    return path
