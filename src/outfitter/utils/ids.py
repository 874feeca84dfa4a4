"""What an item id may be: printable text of at most MAX_ID_LENGTH characters, with no `.` or `..` path segment,
so every id round-trips through numpy, JSON, CSV and URLs and names one item (shared by readers and the store)."""

from __future__ import annotations

import unicodedata

MAX_ID_LENGTH = 512


def id_problem(item_id: str) -> str | None:
    """Why `item_id` is not a usable id, or None when it is."""
    if not item_id or not item_id.strip():
        return "empty id"
    if len(item_id) > MAX_ID_LENGTH:
        return f"id of {len(item_id)} characters (at most {MAX_ID_LENGTH})"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in item_id):
        return f"id {item_id[:40]!r} holds a control character"
    if any(part in (".", "..") for part in item_id.split("/")):
        return f"id {item_id[:40]!r} has a '.' or '..' path segment"
    return None
