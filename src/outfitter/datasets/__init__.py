"""Dataset readers (a shop's photo folder or CSV, Polyvore Outfits, Maryland Polyvore) and synthetic writers."""

from outfitter.datasets.folder import (
    IMAGE_EXTENSIONS,
    read_folder,
    read_manifest,
    read_source,
)
from outfitter.datasets.polyvore_maryland import MarylandPolyvore
from outfitter.datasets.polyvore_outfits import (
    SPLITS,
    VERSIONS,
    FITBQuestion,
    PolyvoreOutfits,
)
from outfitter.datasets.source import OutfitSource
from outfitter.datasets.synthetic import (
    write_synthetic_maryland,
    write_synthetic_polyvore,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "SPLITS",
    "VERSIONS",
    "FITBQuestion",
    "MarylandPolyvore",
    "OutfitSource",
    "PolyvoreOutfits",
    "read_folder",
    "read_manifest",
    "read_source",
    "write_synthetic_maryland",
    "write_synthetic_polyvore",
]
