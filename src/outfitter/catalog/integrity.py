"""Checked store files: each segment file's size and BLAKE2b digest go into the manifest when it is written;
opening compares sizes (a stat a file) and array headers, the small files that name items are re-hashed when first
read, `verify` re-hashes everything, `orphans` finds files no snapshot uses.

A damaged file is reported with what to do: re-index the items of its segment (`outfitter index` skips what is
stored, so deleting the segment's items and indexing them again restores them).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from outfitter.errors import StoreError

CHUNK = 1 << 20
CHECKED_MAX = 20_000  # files remembered as passed (about 9 MB; a store has a handful a segment); least recent forgotten
_checked: OrderedDict[tuple, None] = OrderedDict()  # (path, inode, size, mtime, digest) of files found as written
_checked_lock = threading.Lock()


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


def check_digest(path: Path, expected: list) -> None:
    """StoreError naming the file unless it has the recorded size and digest."""
    reason = digest_problem(path, expected)
    if reason:
        raise StoreError(f"{path}: {reason}; {_RECOVER}")


def digest_problem(path: Path, expected: list) -> str | None:
    """Why the file differs from its record ([size, digest]), or None; a file unchanged since it last passed (same
    inode, size and modification time) is not hashed again."""
    try:
        info = path.stat()
    except OSError:
        return "missing"
    key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns, expected[1])
    if _passed_before(key):
        return None
    if info.st_size != expected[0]:
        return f"{info.st_size} bytes where {expected[0]} were written"
    if record(path) != list(expected):
        return "contents changed since written (flipped bytes)"
    _remember_passed(key)
    return None


def _passed_before(key: tuple) -> bool:
    with _checked_lock:
        if key in _checked:
            _checked.move_to_end(key)
            return True
    return False


def _remember_passed(key: tuple) -> None:
    """Remember a file that passed; past CHECKED_MAX the least recently checked is forgotten (hashed again when
    next checked), so a server whose store keeps changing does not grow without end."""
    with _checked_lock:
        _checked[key] = None
        while len(_checked) > CHECKED_MAX:
            _checked.popitem(last=False)


def npy_shape(path: Path) -> tuple[int, ...]:
    """The array shape a .npy file's header declares, or a StoreError naming the file (missing, not an array)."""
    try:
        with open(path, "rb") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, _ = read(handle)
    except Exception as exc:  # numpy's header parser fails with OSError, ValueError, SyntaxError or TokenError
        raise StoreError(f"{path}: cannot read array header ({type(exc).__name__}: {exc}); {_RECOVER}") from None
    return tuple(shape)


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
    """Every recorded file re-hashed (unless unchanged since it last passed): the missing, resized and changed."""
    found = ((root / name, digest_problem(root / name, expected)) for files in checksums.values()
             for name, expected in files.items())
    return [Problem(path, reason) for path, reason in found if reason]


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
