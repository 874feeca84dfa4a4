"""Checked store files: each segment file's size and BLAKE2b digest go into the manifest when it is written;
opening compares sizes (a stat a file), `verify` re-hashes everything, `orphans` finds files no snapshot uses.

A damaged file is reported with what to do: re-index the items of its segment (`outfitter index` skips what is
stored, so deleting the segment's items and indexing them again restores them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from outfitter.errors import StoreError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One damaged, missing or unexpected file and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def record(path: Path) -> list:
    """[size, hex digest] of a file, read in 1 MiB chunks."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return [path.stat().st_size, digest.hexdigest()]


def records(paths: Iterable[Path]) -> dict[str, list]:
    """File name -> [size, digest] of each path."""
    return {path.name: record(path) for path in paths}


def check_sizes(root: Path, checksums: Mapping[str, Mapping[str, list]]) -> None:
    """StoreError naming the first recorded file that is missing or has another size (truncated, replaced)."""
    for segment, files in checksums.items():
        for name, (size, _) in files.items():
            path = root / name
            try:
                actual = path.stat().st_size
            except OSError:
                raise StoreError(f"{path}: missing store file of segment {segment}; {_RECOVER}") from None
            if actual != size:
                raise StoreError(f"{path}: {actual} bytes where {size} were written (truncated or replaced); "
                                 f"{_RECOVER}")


def verify(root: Path, checksums: Mapping[str, Mapping[str, list]]) -> list[Problem]:
    """Every recorded file re-hashed: the missing, resized and changed ones."""
    problems = []
    for files in checksums.values():
        for name, (size, digest) in files.items():
            path = root / name
            if not path.is_file():
                problems.append(Problem(path, "missing"))
                continue
            actual_size, actual_digest = record(path)
            if actual_size != size:
                problems.append(Problem(path, f"{actual_size} bytes where {size} were written"))
            elif actual_digest != digest:
                problems.append(Problem(path, "contents changed since written (flipped bytes)"))
    return problems


def orphans(root: Path, segment_names: Iterable[str]) -> list[Path]:
    """Segment files of no live or retired segment, and temporary files of writes that never finished."""
    known = set(segment_names)
    found = []
    for path in sorted(root.iterdir()):
        name = path.name
        if name.startswith("seg-") and name.split(".")[0] not in known:
            found.append(path)
        elif name.startswith(".") and name.endswith(".tmp"):
            found.append(path)
    return found


_RECOVER = "delete that segment's items and index them again, or restore the store from a backup"
