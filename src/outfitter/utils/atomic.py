"""Crash-safe file writing: write to a temporary sibling, flush to disk, then rename over the target."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename, on error it vanishes."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        if exc.filename is None:  # numpy reports a short write without errno or file: name both
            raise OSError(exc.errno or errno.ENOSPC, f"short write, {exc}", str(path)) from exc
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


def write_atomic(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write a file through `write(fileobj)` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        write(fh)


def write_json(path: Path, data: Any) -> None:
    """Atomically write pretty JSON."""
    write_atomic(path, lambda fh: fh.write(json.dumps(data, indent=1, sort_keys=True).encode()))


def write_npy(path: Path, array: np.ndarray) -> None:
    """Atomically write a .npy array."""
    write_atomic(path, lambda fh: np.save(fh, array, allow_pickle=False))


def _umask() -> int:
    """The process umask (read by setting and restoring it), so files get the usual permissions, not 0600."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
