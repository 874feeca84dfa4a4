"""Exceptions that name the bad input precisely, so the CLI and API can report them in one line."""

from __future__ import annotations

from pathlib import Path


class OutfitterError(Exception):
    """Base class of every error outfitter raises on purpose."""


class InputError(OutfitterError, ValueError):
    """Bad user input: names the file, and where known the line or field, and what is wrong."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where += f":{self.line}"
        if self.field is not None:
            where += f" (field {self.field!r})" if where else f"field {self.field!r}"
        return f"{where}: {self.reason}" if where else self.reason


class ImageError(InputError):
    """An image that cannot be decoded safely: missing, empty, truncated, corrupt, too large, not an image."""


class StoreError(OutfitterError):
    """A catalogue store that is missing, damaged, or used against its recorded settings."""


class WeightsNotFoundError(OutfitterError):
    """Pretrained weights are not on this machine; the message says how to get them."""
