"""The catalogue store: item vectors and metadata in a directory, appended and deleted atomically.

Layout: `store.json` (the manifest: backbone, width, dtype, live segments, deleted ids) and, per segment,
`<seg>.vectors.npy` [n, dim], `<seg>.ids.npy`, `<seg>.categories.npy` (codes into the manifest's category
list) and `<seg>.meta.jsonl` with `<seg>.offsets.npy` for random access. A segment's files are written
first, then the manifest is replaced in one rename, so a crash leaves either the old or the new store and
never a half-written one. Vectors are memory-mapped, so a large catalogue opens without reading them.

Each manifest is an immutable snapshot: a reader (a server) keeps its snapshot, asks `is_current()` (one stat)
between requests and opens the new one when the store changed. Files of segments that a compaction replaced
are *retired*, not deleted: they stay for RETIRE_AFTER_S so that requests still running on an older snapshot
can read them, and the first commit after that removes them.

A segment may also hold per-item features, `<seg>.<name>.npy` [n, width] float32, aligned with its rows. A
segment has a feature iff that file exists: each is written atomically, so presence needs no manifest entry,
and features can be added to an existing segment (back-filling a store made before the feature existed).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from outfitter.utils.atomic import write_atomic, write_json, write_npy
from outfitter.catalog import integrity
from outfitter.catalog.id_table import IdTable
from outfitter.catalog.integrity import Problem
from outfitter.errors import InputError, StoreError
from outfitter.utils.ids import id_problem
from outfitter.types import Item

MANIFEST = "store.json"
SIDECAR_FALLBACK = Path.home() / ".cache" / "outfitter" / "stores"  # sidecars of stores that cannot be written
RETIRE_AFTER_S = 600.0  # how long a replaced segment's files outlive the commit that replaced them
FORMAT_VERSION = 1
DTYPES = ("float32", "float16")
NO_CATEGORY = -1
CORE_FILES = ("vectors.npy", "ids.npy", "categories.npy", "offsets.npy", "meta.jsonl")
CHECKED_ON_READ = ("ids.npy", "categories.npy", "offsets.npy")  # small, and a flip there misnames items silently
FEATURE_NAME = re.compile(r"[a-z][a-z0-9_]*")
RESERVED_NAMES = frozenset(f.split(".")[0] for f in CORE_FILES)  # a feature must not overwrite a core file


@dataclass(frozen=True)
class Block:
    """A slice of the catalogue for block-wise scans: vectors, their ids, category codes and liveness."""

    start: int
    vectors: np.ndarray
    ids: np.ndarray
    categories: np.ndarray
    live: np.ndarray


class Segment:
    """One immutable batch of items, its arrays memory-mapped on first use. `records` (file name -> [size, digest],
    from the manifest) lets the files that name and place every item (ids, categories, offsets) be checked as they
    are first read, so a flipped byte there can never rename or re-categorise an item silently."""

    def __init__(self, root: Path, name: str, records: Mapping[str, list] | None = None) -> None:
        self.root = root
        self.name = name
        self.records = dict(records or {})

    def path(self, suffix: str) -> Path:
        return self.root / f"{self.name}.{suffix}"

    @cached_property
    def vectors(self) -> np.ndarray:
        return self._load("vectors.npy")

    @cached_property
    def ids(self) -> np.ndarray:
        return self._load("ids.npy")

    @cached_property
    def categories(self) -> np.ndarray:
        return self._load("categories.npy")

    @cached_property
    def offsets(self) -> np.ndarray:
        return self._load("offsets.npy")

    def __len__(self) -> int:
        return len(self.ids)

    def metadata(self, row: int) -> dict:
        """The JSON record of one row, read by seeking to its offset."""
        with open(self.path("meta.jsonl"), "rb") as fh:
            fh.seek(int(self.offsets[row]))
            return self._record(fh.readline(), row)

    def items(self) -> list[Item]:
        """Every row's item in order, deleted ones included (one read of the metadata file)."""
        with open(self.path("meta.jsonl"), "rb") as fh:
            return [_record_item(self._record(line, row)) for row, line in enumerate(fh)]

    def _record(self, line: bytes, row: int) -> dict:
        """One metadata line as a dict, or a StoreError naming the file and line (damaged bytes)."""
        try:
            record = json.loads(line)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise StoreError(f"{self.path('meta.jsonl')}, line {row + 1}: damaged item record ({exc}); "
                             f"run `outfitter check --store {self.root}`") from None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise StoreError(f"{self.path('meta.jsonl')}, line {row + 1}: damaged item record (no id); "
                             f"run `outfitter check --store {self.root}`")
        return record

    def has_feature(self, name: str) -> bool:
        """Whether the feature's file exists (it is written atomically, so it is then complete)."""
        return self.path(f"{name}.npy").exists()

    def feature(self, name: str) -> np.ndarray:
        """The named feature's rows [n, width], memory-mapped."""
        return self._load(f"{name}.npy")

    def feature_names(self) -> list[str]:
        """Names of the features this segment holds (temporary files start with a dot, so never match)."""
        stems = (p.name[len(self.name) + 1:-len(".npy")] for p in self.root.glob(f"{self.name}.*.npy"))
        return sorted(s for s in stems if s not in RESERVED_NAMES)

    def write_feature(self, name: str, array: np.ndarray) -> None:
        """Write (or replace) one feature file atomically; callers check its shape and hold the store lock."""
        write_npy(self.path(f"{name}.npy"), array)

    def _load(self, suffix: str) -> np.ndarray:
        if suffix in CHECKED_ON_READ and self.path(suffix).name in self.records:
            integrity.check_digest(self.path(suffix), self.records[self.path(suffix).name])
        try:
            return np.load(self.path(suffix), mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.path(suffix)}: cannot read segment file ({exc})") from exc

    def shape_problems(self, dim: int) -> list[Problem]:
        """Files whose array headers disagree with ids.npy on the row count, or vectors not [n, dim]: read from the
        .npy headers alone, so it costs a few small reads."""
        shapes = {}
        for suffix in (*CORE_FILES[:4], *(f"{n}.npy" for n in self.feature_names())):
            try:
                shapes[suffix] = integrity.npy_shape(self.path(suffix))
            except StoreError as error:
                return [Problem(self.path(suffix), str(error).split(": ", 1)[-1])]
        rows = shapes["ids.npy"][0] if shapes["ids.npy"] else -1
        problems = [Problem(self.path(f), f"{shape[0] if shape else 0} rows where ids.npy has {rows}")
                    for f, shape in shapes.items() if f != "ids.npy" and (not shape or shape[0] != rows)]
        if len(shapes["vectors.npy"]) != 2 or shapes["vectors.npy"][1] != dim:
            problems.append(Problem(self.path("vectors.npy"), f"shape {shapes['vectors.npy']}, expected (n, {dim})"))
        return problems

    @classmethod
    def write(cls, root: Path, items: Sequence[Item], vectors: np.ndarray, codes: np.ndarray,
              features: Mapping[str, np.ndarray] | None = None) -> "Segment":
        """Write a new segment's files (each atomically); it joins the store only when the manifest names it."""
        seg = cls(root, f"seg-{uuid.uuid4().hex[:12]}")
        try:
            seg._write_files(items, vectors, codes, features)
        except BaseException:
            for path in seg.files():  # a failed write (disk full, read-only) leaves no part of the segment
                path.unlink(missing_ok=True)
            raise
        return seg

    def _write_files(self, items: Sequence[Item], vectors: np.ndarray, codes: np.ndarray,
                     features: Mapping[str, np.ndarray] | None) -> None:
        """Each file of a new segment, written atomically."""
        lines = [json.dumps(_item_record(it), ensure_ascii=False).encode() + b"\n" for it in items]
        offsets = np.cumsum([0] + [len(line) for line in lines[:-1]], dtype=np.int64)
        write_atomic(self.path("meta.jsonl"), lambda fh: fh.writelines(lines))
        write_npy(self.path("offsets.npy"), offsets)
        write_npy(self.path("ids.npy"), np.array([it.item_id for it in items], dtype=str))
        write_npy(self.path("categories.npy"), codes.astype(np.int32))
        write_npy(self.path("vectors.npy"), vectors)
        for name, array in (features or {}).items():
            self.write_feature(name, array)

    def files(self) -> list[Path]:
        """Every file of the segment, its features' included (what deleting the segment removes)."""
        return [self.path(s) for s in CORE_FILES] + [self.path(f"{n}.npy") for n in self.feature_names()]


def segment_blocks(segments: Sequence[Segment], rows: int, *, start: int = 0,
                   live: Callable[[int, np.ndarray], np.ndarray] | None = None) -> Iterator[Block]:
    """Blocks of at most `rows` rows over `segments`, numbered from `start`, read from the memory maps;
    `live(first row, ids)` flags a block's rows that are not deleted (all are, without it). Every scan of a
    store (exact search, index builds, the FAISS index's unindexed tail) goes through here."""
    for seg in segments:
        for lo in range(0, len(seg), rows):
            ids = seg.ids[lo:lo + rows]
            flags = np.ones(len(ids), bool) if live is None else live(start + lo, ids)
            yield Block(start + lo, seg.vectors[lo:lo + rows], ids, seg.categories[lo:lo + rows], flags)
        start += len(seg)


def _check_folder(root: Path) -> None:
    """StoreError when the store's place is taken by a file (a store is a folder)."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: is a file, not a store folder; give --store a folder (new or made by outfitter)")


MANIFEST_FIELDS = {"backbone": str, "dim": int, "dtype": str, "segments": list, "categories": list, "deleted": list}


def _check_manifest(manifest: object, path: Path) -> None:
    """StoreError naming the field of a manifest that lacks a field, has the wrong type or lists a segment twice."""
    if not isinstance(manifest, dict):
        raise StoreError(f"{path}: the manifest is not a JSON object")
    for name, kind in MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(name), kind):
            raise StoreError(f"{path}: field {name!r} missing or not a {kind.__name__}")
    segments = manifest["segments"]
    if len(set(segments)) != len(segments) or not all(isinstance(n, str) for n in segments):
        raise StoreError(f"{path}: field 'segments' lists a segment twice (or a non-name); "
                         "restore the manifest from a backup")


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is replaced: inode, size and modification time (None when it is missing)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _segments(root: Path, manifest: dict, known: Sequence[Segment] = ()) -> list[Segment]:
    """The manifest's live segments, each with its file records; those of `known` with the same records are
    reused, with the arrays they have already mapped."""
    checksums = manifest.get("checksums", {})
    reuse = {seg.name: seg for seg in known}
    return [seg if (seg := reuse.get(name)) is not None and seg.records == dict(checksums.get(name) or {})
            else Segment(root, name, checksums.get(name)) for name in manifest["segments"]]


def _item_record(item: Item) -> dict:
    return {"id": item.item_id, "path": item.path, "category": item.category, "attributes": item.attributes}


def _record_item(rec: dict) -> Item:
    return Item(rec["id"], rec.get("path"), rec.get("category"), rec.get("attributes") or {})


def _check_name(name: str) -> str:
    """A feature name that is safe in a file name and clashes with no core file, or an InputError."""
    if not FEATURE_NAME.fullmatch(name) or name in RESERVED_NAMES:
        raise InputError(f"bad feature name {name!r}: use lower-case letters, digits and _, not one of "
                         f"{sorted(RESERVED_NAMES)}", field="features")
    return name


def _check_feature(name: str, array: np.ndarray, rows: int) -> np.ndarray:
    """A feature array as contiguous float32 [rows, width], or an InputError naming the feature."""
    _check_name(name)
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[0] != rows:
        raise InputError(f"feature {name!r}: expected shape ({rows}, width), got {array.shape}", field=name)
    if not np.isfinite(array).all():
        raise InputError(f"feature {name!r} contains NaN or infinity", field=name)
    return np.ascontiguousarray(array, dtype=np.float32)


class CatalogStore:
    """Vectors and metadata of a catalogue on disk; one backbone per store; open, append, delete, compact."""

    def __init__(self, root: Path, manifest: dict, stamp: tuple[int, int, int] | None = None) -> None:
        self.root = root
        self._manifest = manifest
        self.segments = _segments(root, manifest)
        self._stamp = stamp or _stamp(root / MANIFEST)

    # ---- opening and creating

    @classmethod
    def create(cls, root: str | Path, *, backbone: str, dim: int, dtype: str = "float32") -> "CatalogStore":
        """Make a new empty store in `root` (which must not hold one already)."""
        root = Path(root)
        _check_folder(root)
        if (root / MANIFEST).exists():
            raise StoreError(f"{root}: a catalogue store already exists here")
        if dtype not in DTYPES:
            raise InputError(f"unsupported vector dtype {dtype!r}; choose one of {DTYPES}", field="dtype")
        root.mkdir(parents=True, exist_ok=True)
        manifest = {"format": FORMAT_VERSION, "backbone": backbone, "dim": int(dim), "dtype": dtype,
                    "segments": [], "categories": [], "deleted": []}
        write_json(root / MANIFEST, manifest)
        return cls(root, manifest)

    @classmethod
    def open(cls, root: str | Path) -> "CatalogStore":
        """Open an existing store; a missing or damaged manifest is a StoreError naming the file."""
        _check_folder(Path(root))
        path = Path(root) / MANIFEST
        if not path.is_file():
            raise StoreError(f"{root}: no catalogue store here (missing {MANIFEST}); create one with `outfitter index`")
        stamp = _stamp(path)  # before reading: a commit in between makes this snapshot look stale, never current
        try:
            manifest = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:  # ValueError: bad JSON or bytes that are not UTF-8
            raise StoreError(f"{path}: unreadable store manifest ({exc})") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise StoreError(f"{path}: unsupported store format {manifest.get('format')!r}")
        _check_manifest(manifest, path)
        checksums = manifest.get("checksums", {})
        integrity.check_sizes(Path(root), {name: checksums[name] for name in manifest["segments"] if name in checksums})
        store = cls(Path(root), manifest, stamp)
        problem = next((p for seg in store.segments for p in seg.shape_problems(store.dim)), None)
        if problem:
            raise StoreError(f"{problem}; run `outfitter check --store {root}`")
        return store

    @classmethod
    def open_or_create(cls, root: str | Path, *, backbone: str, dim: int, dtype: str = "float32") -> "CatalogStore":
        """Open the store in `root`, checking it was made by `backbone`, or create it."""
        if not (Path(root) / MANIFEST).exists():
            return cls.create(root, backbone=backbone, dim=dim, dtype=dtype)
        store = cls.open(root)
        store.check_backbone(backbone)
        return store

    # ---- what it holds

    def writable(self) -> bool:
        """Whether this process may add files to the store's folder (False on a read-only mount)."""
        return os.access(self.root, os.W_OK)

    def sidecar(self, name: str) -> Path:
        """The folder where derived data about this store (projection tables, feature caches) lives: inside the
        store when it can be written, else under the user's cache (a read-only store still serves)."""
        if self.writable():
            return self.root / name
        digest = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:16]
        return SIDECAR_FALLBACK / f"{self.root.name}-{digest}" / name

    def is_current(self) -> bool:
        """Whether this snapshot is still the store's newest (a stat of the manifest, which every commit replaces)."""
        return _stamp(self.root / MANIFEST) == self._stamp

    @property
    def backbone(self) -> str:
        return self._manifest["backbone"]

    @property
    def dim(self) -> int:
        return self._manifest["dim"]

    @property
    def dtype(self) -> str:
        return self._manifest["dtype"]

    @property
    def category_names(self) -> list[str]:
        return list(self._manifest["categories"])

    def check_backbone(self, backbone: str) -> None:
        """Refuse to mix vectors of two backbones in one store."""
        if backbone != self.backbone:
            raise StoreError(
                f"{self.root}: store holds {self.backbone} vectors; refusing to add {backbone} vectors "
                f"(use another --store, or the same --backbone)"
            )

    @cached_property
    def _deleted(self) -> frozenset[str]:
        return frozenset(self._manifest["deleted"])

    @cached_property
    def _table(self) -> IdTable:
        """The row of every live item by id (built on first lookup)."""
        return IdTable([seg.ids for seg in self.segments], self._deleted)

    def __len__(self) -> int:
        return sum(len(seg) for seg in self.segments) - len(self._deleted)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._table

    def ids(self) -> list[str]:
        """Live item ids in storage order."""
        return [item_id for block in self.blocks() for item_id in block.ids[block.live].tolist()]

    def get(self, item_id: str) -> Item:
        """The stored item, or a KeyError-like InputError naming the unknown id."""
        s, r = self._table.locate(self.row(item_id))
        return _record_item(self.segments[s].metadata(r))

    def vector(self, item_id: str) -> np.ndarray:
        """One item's vector as float32."""
        s, r = self._table.locate(self.row(item_id))
        return np.asarray(self.segments[s].vectors[r], dtype=np.float32)

    def row(self, item_id: str) -> int:
        """The item's position in `vectors()` and `all_ids()` (InputError naming an unknown id)."""
        row = self._table.row(item_id)
        if row is None:
            raise InputError(f"unknown item id {item_id!r} in store {self.root}", field="item_id")
        return row

    def category_code(self, category: str | None) -> int | None:
        """The code of a category name (matched as `category_name` does), None if the store has no such category."""
        if category is None:
            return NO_CATEGORY
        name = self.category_name(category)
        return None if name is None else self._manifest["categories"].index(name)

    def category_name(self, category: str) -> str | None:
        """The store's spelling of a category: the exact name, else the one name equal to it ignoring case."""
        names = self._manifest["categories"]
        if category in names:
            return category
        folded = [name for name in names if name.casefold() == category.casefold()]
        return folded[0] if len(folded) == 1 else None

    def blocks(self, rows: int = 65536) -> Iterator[Block]:
        """Scan the whole catalogue in blocks of at most `rows` rows (deleted rows flagged, not removed)."""
        deleted = list(self._deleted)
        return segment_blocks(self.segments, rows, live=(lambda _, ids: ~np.isin(ids, deleted)) if deleted else None)

    def vectors(self) -> np.ndarray:
        """All stored rows' vectors (a memory map when the store is one segment); pair with `all_ids()`."""
        if len(self.segments) == 1:
            return self.segments[0].vectors
        if not self.segments:
            return np.zeros((0, self.dim), dtype=self.dtype)
        return np.concatenate([seg.vectors for seg in self.segments])

    def all_ids(self) -> np.ndarray:
        """Ids of every stored row, deleted ones included, aligned with `vectors()`."""
        return np.concatenate([seg.ids for seg in self.segments]) if self.segments else np.array([], dtype=str)

    def all_categories(self) -> np.ndarray:
        """Category codes of every stored row, aligned with `vectors()`."""
        if not self.segments:
            return np.array([], dtype=np.int32)
        return np.concatenate([seg.categories for seg in self.segments])

    def live_mask(self) -> np.ndarray:
        """True for rows not deleted, aligned with `vectors()`."""
        ids = self.all_ids()
        return ~np.isin(ids, list(self._deleted)) if self._deleted else np.ones(len(ids), bool)

    def features(self, name: str) -> np.ndarray:
        """Every stored row's named feature [rows, width] float32, aligned with `vectors()` (an empty store gives
        [0, 0]); a StoreError names the segments that lack it."""
        missing = self.segments_missing(name)
        if missing:
            raise StoreError(f"{self.root}: feature {name!r} missing from segments "
                             f"{', '.join(s.name for s in missing)}; run `outfitter index` again to add it")
        arrays = [seg.feature(name) for seg in self.segments]
        if len(arrays) <= 1:
            return arrays[0] if arrays else np.zeros((0, 0), np.float32)
        if len({a.shape[1] for a in arrays}) > 1:
            raise StoreError(f"{self.root}: feature {name!r} has different widths in different segments")
        return np.concatenate(arrays)

    def segments_missing(self, name: str) -> list[Segment]:
        """The live segments without the named feature (what a back-fill has to compute)."""
        return [seg for seg in self.segments if not seg.has_feature(_check_name(name))]

    # ---- changing it

    def append(self, items: Sequence[Item], vectors: np.ndarray,
               features: Mapping[str, np.ndarray] | None = None) -> None:
        """Add items, their vectors and any named features [len(items), width] as one new segment, committed
        atomically; ids must be new."""
        vectors = self._check_vectors(items, vectors)
        features = {n: _check_feature(n, a, len(items)) for n, a in (features or {}).items()}
        bad = next(((it.item_id, p) for it in items if (p := id_problem(it.item_id))), None)
        if bad:
            raise InputError(f"{bad[1]}; nothing was stored", field="item_id")
        if not items:
            return
        with self.lock():
            self._reload()
            rows = self._table.rows_of([it.item_id for it in items])
            clash = [it.item_id for it, row in zip(items, rows) if row >= 0]
            if clash or len({it.item_id for it in items}) != len(items):
                raise InputError(f"item ids already in the store or repeated: {sorted(set(clash))[:5] or 'repeated'}",
                                 field="item_id")
            names, codes = self._category_codes(items)
            seg = Segment.write(self.root, items, vectors, codes, features)
            table = self._table
            self._commit(segments=[*self._manifest["segments"], seg.name], categories=names,
                         checksums=self._checksums_with(seg))
            table.extend(self.segments[-1].ids)
            self.__dict__["_table"] = table  # extended, not rebuilt: a job of many chunks stays linear

    def add_segment_features(self, segment_name: str, name: str, array: np.ndarray) -> None:
        """Give one live segment a feature [its rows, width] (a back-fill): the file is written atomically (from
        then on readers use it), then its size and digest are committed to the manifest."""
        with self.lock():
            self._reload()
            seg = next((s for s in self.segments if s.name == segment_name), None)
            if seg is None:
                raise StoreError(f"{self.root}: no live segment {segment_name!r} (compacted meanwhile?)")
            seg.write_feature(name, _check_feature(name, array, len(seg)))
            checksums = self._manifest.get("checksums", {})
            if seg.name in checksums:
                path = seg.path(f"{name}.npy")
                self._commit(checksums={**checksums, seg.name: {**checksums[seg.name], path.name: integrity.record(path)}})

    def delete(self, item_ids: Sequence[str]) -> int:
        """Mark items deleted (committed atomically); returns how many were live."""
        with self.lock():
            self._reload()
            wanted = list(dict.fromkeys(item_ids))
            live = [i for i, row in zip(wanted, self._table.rows_of(wanted)) if row >= 0]
            if live:
                self._commit(deleted=sorted(self._deleted | set(live)))
            return len(live)

    def compact(self) -> None:
        """Rewrite all live items into one segment, dropping deleted rows; the old segments are retired (their
        files stay RETIRE_AFTER_S for readers of older snapshots)."""
        with self.lock():
            self._reload()
            if len(self.segments) <= 1 and not self._deleted:
                return
            old = list(self.segments)
            mask = self.live_mask()
            items = [self.get(i) for i in self.all_ids()[mask].tolist()]
            vectors = np.asarray(self.vectors()[mask])
            codes = self.all_categories()[mask]
            features = {n: np.asarray(self.features(n)[mask]) for n in self._common_features()}
            seg = Segment.write(self.root, items, vectors, codes, features)
            retired = [*self._manifest.get("retired", []), *([s.name, time.time()] for s in old)]
            self._commit(segments=[seg.name], deleted=[], retired=retired, checksums=self._checksums_with(seg))

    def _checksums_with(self, seg: Segment) -> dict[str, dict[str, list]]:
        """The manifest's file records plus those of a segment just written (its core files and features)."""
        return {**self._manifest.get("checksums", {}), seg.name: integrity.records(seg.files())}

    # ---- checking it

    def verify(self) -> list[Problem]:
        """Every recorded file of the live segments re-hashed, and each segment's arrays checked for equal rows."""
        checksums = self._manifest.get("checksums", {})
        problems = integrity.verify(self.root, {s.name: checksums[s.name] for s in self.segments if s.name in checksums})
        return problems or [p for seg in self.segments for p in seg.shape_problems(self.dim)]

    def unchecked(self) -> list[Path]:
        """Live segments' files with no recorded checksum (written before checksums, or a back-fill that stopped
        between its file and its commit): `verify` cannot vouch for them."""
        records = self._manifest.get("checksums", {})
        return [path for seg in self.segments for path in seg.files() if path.name not in records.get(seg.name, {})]

    def orphans(self) -> list[Path]:
        """Files of no live or retired segment, and leftovers of writes that never finished."""
        return integrity.orphans(self.root, [*self._manifest["segments"], *(n for n, _ in self._manifest.get("retired", []))])

    def remove_orphans(self) -> list[Path]:
        """Delete `orphans()` under the store lock (no writer is mid-way then); returns what was removed."""
        with self.lock():
            self._reload()
            found = self.orphans()
            for path in found:
                path.unlink(missing_ok=True)
            return found

    def _common_features(self) -> list[str]:
        """Names of the features every segment holds (those a compaction can carry)."""
        names = [set(seg.feature_names()) for seg in self.segments]
        return sorted(set.intersection(*names)) if names else []

    def _check_vectors(self, items: Sequence[Item], vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape != (len(items), self.dim):
            raise InputError(f"expected vectors of shape ({len(items)}, {self.dim}), got {vectors.shape}",
                             field="vectors")
        if not np.isfinite(vectors).all():
            raise InputError("vectors contain NaN or infinity", field="vectors")
        return np.ascontiguousarray(vectors, dtype=self.dtype)

    def _category_codes(self, items: Sequence[Item]) -> tuple[list[str], np.ndarray]:
        """The category list extended with new names, and each item's code in it."""
        names = list(self._manifest["categories"])
        for it in items:
            if it.category is not None and it.category not in names:
                names.append(it.category)
        index = {n: i for i, n in enumerate(names)}
        return names, np.array([NO_CATEGORY if it.category is None else index[it.category] for it in items], np.int32)

    def _commit(self, **changes) -> None:
        """Write the manifest with `changes` in one atomic replace, then use it; then remove retired segments'
        files whose grace period is over (after the commit: a crash in between leaves only unlisted files)."""
        retired = changes.get("retired", self._manifest.get("retired", []))
        expired = [name for name, since in retired if time.time() - since >= RETIRE_AFTER_S]
        changes["retired"] = [entry for entry in retired if entry[0] not in expired]
        checksums = changes.get("checksums", self._manifest.get("checksums", {}))
        changes["checksums"] = {name: files for name, files in checksums.items() if name not in expired}
        manifest = {**self._manifest, **changes}
        write_json(self.root / MANIFEST, manifest)
        self._use(manifest)
        for path in (p for name in expired for p in Segment(self.root, name).files()):
            path.unlink(missing_ok=True)

    def _reload(self) -> None:
        """Re-read the manifest under the lock so concurrent writers never drop each other's commits (nothing to
        read when it is the one this snapshot last saw or wrote)."""
        if self.is_current():
            return
        fresh = CatalogStore.open(self.root)._manifest
        if fresh != self._manifest:
            self._use(fresh)

    def _use(self, manifest: dict) -> None:
        self._manifest = manifest
        self._stamp = _stamp(self.root / MANIFEST)
        self.segments = _segments(self.root, manifest, self.__dict__.get("segments", ()))
        self.__dict__.pop("_table", None)
        self.__dict__.pop("_deleted", None)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The store's writer lock (a file lock, so it holds across processes): every commit takes it, and so does
        whatever writes derived files for the store (the FAISS index), so no writer sees another's half-done work.
        A read-only store's lock sits beside its sidecar folders."""
        folder = self.root if self.writable() else self.sidecar("")
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
