"""Outfit compatibility: CompatibilityMLP and PolaniaNet, their training, evaluation and fast ranking."""

from outfitter.compat.base import CompatModel, ItemTable, embed_table
from outfitter.compat.checkpoint import (
    load_model,
    load_original_mlp,
    read_checkpoint,
    save_checkpoint,
    shipped_model_path,
)
from outfitter.compat.evaluate import (
    compatibility_auc,
    complementary_recall_at_k,
    evaluate,
    fitb_accuracy,
    fitb_scores,
    outfit_scores,
    recall_at_k,
)
from outfitter.compat.features import item_inputs
from outfitter.compat.garment import GarmentNet
from outfitter.compat.losses import BCELoss, MAPLoss, PairLoss
from outfitter.compat.mlp import CompatibilityMLP
from outfitter.compat.pairs import Pairs, sample_pairs
from outfitter.compat.polania import MetricNetwork, PolaniaNet, load_original_polania
from outfitter.compat.ranker import ComplementaryRanker
from outfitter.compat.registry import ModelKind, Recipe, get_kind, list_kinds, register_kind
from outfitter.compat.slot_predictor import SlotPredictor
from outfitter.compat.slots import OutfitSlots
from outfitter.compat.train import TrainResult, build_model, train

__all__ = [
    "BCELoss",
    "CompatModel",
    "CompatibilityMLP",
    "ComplementaryRanker",
    "GarmentNet",
    "ItemTable",
    "MAPLoss",
    "MetricNetwork",
    "ModelKind",
    "OutfitSlots",
    "PairLoss",
    "Pairs",
    "PolaniaNet",
    "Recipe",
    "SlotPredictor",
    "TrainResult",
    "build_model",
    "compatibility_auc",
    "complementary_recall_at_k",
    "embed_table",
    "evaluate",
    "fitb_accuracy",
    "fitb_scores",
    "get_kind",
    "item_inputs",
    "list_kinds",
    "load_model",
    "load_original_mlp",
    "load_original_polania",
    "outfit_scores",
    "read_checkpoint",
    "recall_at_k",
    "register_kind",
    "sample_pairs",
    "save_checkpoint",
    "shipped_model_path",
    "train",
]
