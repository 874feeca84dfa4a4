"""Typed records passed between the stages: catalogue items, outfits and search hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Item:
    """One product: a stable id, where its photo is, its category, and any other attributes."""

    item_id: str
    path: str | None = None
    category: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Outfit:
    """A set of items worn together (Polyvore's set_id and its items in index order)."""

    set_id: str
    item_ids: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """One search or recommendation result."""

    item_id: str
    score: float
    category: str | None = None
    path: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # name, price, url, ...
    match: str | None = None  # for similar items: "very similar", "similar" or "loosely related" in this catalogue

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used by the CLI and the API."""
        return {"id": self.item_id, "score": self.score, "match": self.match, "category": self.category,
                "path": self.path, "attributes": dict(self.attributes)}
