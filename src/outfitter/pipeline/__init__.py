"""Batch embedding of catalogue photos: reader -> mapper -> writer,, run locally."""

from outfitter.pipeline.runner import EmbedReport, embed_into_store

__all__ = ["EmbedReport", "embed_into_store"]
