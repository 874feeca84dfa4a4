"""Outfit rules over one catalogue: each category's slot, which slots complete a query, which pairs clash.

The slots and their rules come with the compatibility model (learned from its training outfits); a shop's
category names map onto them by a user mapping, by name, or by what the category's photos show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from outfitter.compat.slots import OutfitSlots, resolve
from outfitter.errors import InputError


@dataclass(frozen=True)
class OutfitRules:
    """Slots of a catalogue's categories plus the learned rules (None for a model trained before slots)."""

    slots: OutfitSlots | None
    category_slots: Mapping[str, str | None]

    @classmethod
    def for_categories(cls, slots: OutfitSlots | None, categories: Sequence[str],
                       mapping: Mapping[str, str] | None = None,
                       guess: Mapping[str, str] | None = None) -> "OutfitRules":
        """Each category's slot: the user's mapping, then its name, then `guess` (from its photos), else None."""
        named = resolve(list(categories), mapping) if slots is not None else {c: None for c in categories}
        return cls(slots, {c: named[c] or (guess or {}).get(c) for c in categories})

    def unnamed(self) -> list[str]:
        """Categories whose name says no slot (their photos must tell)."""
        return [c for c, slot in self.category_slots.items() if slot is None]

    def targets(self, query_slots: Sequence[str | None], query_categories: Sequence[str | None] = (),
                categories: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Result rows for a query: {row name: catalogue categories ranked together}.

        Asked categories are one row each (unknown ones refused). Otherwise one row per slot that goes with
        every query item, most worn first; without learned slots, every category the query does not cover.
        """
        if categories is not None:
            unknown = [c for c in categories if c not in self.category_slots]
            if unknown:
                raise InputError(f"unknown category {unknown[0]!r}; the catalogue has: "
                                 f"{', '.join(sorted(self.category_slots))}", field="categories")
            return {c: [c] for c in dict.fromkeys(categories)}
        if self.slots is None:
            covered = set(query_categories)
            return {c: [c] for c in self.category_slots if c not in covered}
        wanted = self.slots.goes_with([s for s in query_slots if s is not None])
        rows = {slot: [c for c, s in self.category_slots.items() if s == slot] for slot in wanted}
        return {slot: cats for slot, cats in rows.items() if cats}

    def clashing_pairs(self, slots: Sequence[str | None]) -> list[tuple[int, int]]:
        """(i, j) for items that cannot be worn together: one single slot twice, or exclusive slots."""
        if self.slots is None:
            return []
        return [(i, j) for i in range(len(slots)) for j in range(i + 1, len(slots))
                if slots[i] is not None and slots[j] is not None and self.slots.clashes(slots[i], slots[j])]


def verdict(score: float, thresholds: Mapping[str, float] | None, clash: bool) -> str | None:
    """'goes well', 'so-so' or 'clashes' for an outfit score, from thresholds calibrated on real outfits."""
    if clash:
        return "clashes"
    if not thresholds:
        return None
    if score >= thresholds["goes well"]:
        return "goes well"
    return "so-so" if score >= thresholds["so-so"] else "clashes"
