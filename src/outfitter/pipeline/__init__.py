"""Batch embedding of catalogue photos: reader -> mapper -> writer, run here (`LocalRunner`) or on a Ray cluster
(`RayRunner`, Ray imported only when it runs); per-item features in the same pass, and their back-fill for stores
made before."""

from outfitter.pipeline.backfill import FeatureReport, ensure_features
from outfitter.pipeline.features import FEATURES, GARMENT_FEATURE
from outfitter.pipeline.ray_runner import RayRunner
from outfitter.pipeline.runner import EmbedReport, embed_into_store
from outfitter.pipeline.runners import BackboneEmbedder, LocalRunner, Runner

__all__ = ["FEATURES", "GARMENT_FEATURE", "BackboneEmbedder", "EmbedReport", "FeatureReport", "LocalRunner",
           "RayRunner", "Runner", "embed_into_store", "ensure_features"]
