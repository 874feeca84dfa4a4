"""Batch embedding of catalogue photos: reader -> mapper -> writer, run locally; per-item features in the same
pass, and their back-fill for stores made before."""

from outfitter.pipeline.backfill import FeatureReport, ensure_features
from outfitter.pipeline.features import FEATURES, GARMENT_FEATURE
from outfitter.pipeline.runner import EmbedReport, embed_into_store

__all__ = ["FEATURES", "GARMENT_FEATURE", "EmbedReport", "FeatureReport", "embed_into_store", "ensure_features"]
