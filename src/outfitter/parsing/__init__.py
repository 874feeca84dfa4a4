"""Garment parsing: find each garment of a photo of a person (mask, box, confidence per semantic category)."""

from outfitter.parsing.parser import Garment, GarmentParser, ParsedPhoto

__all__ = ["Garment", "GarmentParser", "ParsedPhoto"]
