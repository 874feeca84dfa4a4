"""What training and evaluation need from a set of outfits people wore: its items, its outfits per split, and the
field's two test question sets. Polyvore Outfits and Maryland Polyvore keep this contract; a shop's own lookbook or
street photos in the Polyvore Outfits layout plug in the same way."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from outfitter.datasets.polyvore_outfits import FITBQuestion
from outfitter.types import Item, Outfit


@runtime_checkable
class OutfitSource(Protocol):
    """Outfits and their items, split into train / valid / test."""

    def items(self, split: str | None = None) -> list[Item]:
        """Items with a photo, of one split or of all."""
        ...

    def outfits(self, split: str) -> list[Outfit]:
        """The split's outfits, each with its item ids."""
        ...

    def compatibility(self, split: str) -> list[tuple[int, list[str]]]:
        """(label, item ids) per compatibility question; label 1 = a real outfit."""
        ...

    def fitb(self, split: str) -> list[FITBQuestion]:
        """The split's fill-in-the-blank questions."""
        ...
