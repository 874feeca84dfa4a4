"""A corrupt-store corpus: every kind of store file truncated, flipped (header and data), missing or swapped for
another segment's. Each case is a StoreError naming the file, from opening or from the first read of the damaged
part, or, where the damage leaves a well-formed file (flipped vector or feature values), `verify` and
`outfitter check` name it. Never a traceback, never a silent rename."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from outfitter.catalog import CatalogStore
from outfitter.cli import app
from outfitter.errors import StoreError
from outfitter.search.exact import ExactIndex
from tests.catalog.test_store import items, unit

FILES = ["vectors.npy", "ids.npy", "categories.npy", "offsets.npy", "meta.jsonl", "garment_hsv.npy", "store.json"]
DAMAGES = ["truncated", "header flipped", "data flipped", "missing", "another segment's"]
WELL_FORMED = {("vectors.npy", "data flipped"), ("garment_hsv.npy", "data flipped")}  # only checksums tell


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A store of two segments of different sizes, each with a feature."""
    root = tmp_path_factory.mktemp("pristine") / "store"
    store = CatalogStore.create(root, backbone="toy", dim=8)
    store.append(items("a", 5), unit(5), features={"garment_hsv": unit(5, dim=4)})
    store.append(items("b", 3, category="shoes"), unit(3, seed=1), features={"garment_hsv": unit(3, dim=4, seed=2)})
    return root


def damage(root: Path, file: str, how: str) -> Path:
    """Damage one file of the store's second segment (or its manifest) in place; return its path."""
    store = CatalogStore.open(root)
    first, second = store.segments
    path = root / file if file == "store.json" else second.path(file)
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "header flipped":
        data[10 if path.suffix == ".npy" else 0] ^= 0xFF  # the first byte of the .npy header dict, or of the text
        path.write_bytes(bytes(data))
    elif how == "data flipped":
        data[-2] ^= 0x5A
        path.write_bytes(bytes(data))
    elif how == "missing":
        path.unlink()
    else:
        other = root / "store.json.bak" if file == "store.json" else first.path(file)
        if file == "store.json":
            shutil.copy(path, other)
            path.write_text('{"format": 1}')
        else:
            shutil.copy(other, path)
    return path


def use(root: Path) -> None:
    """What a query does: open, look up every item and its vector, search, read the features."""
    store = CatalogStore.open(root)
    for item_id in store.ids():
        store.get(item_id)
        store.vector(item_id)
    ExactIndex(store).search(store.vector(store.ids()[0])[None], 3)
    store.features("garment_hsv")


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("file", FILES)
def test_every_damaged_file_is_named_never_served_silently(pristine, tmp_path, file, how):
    root = Path(shutil.copytree(pristine, tmp_path / "store"))
    path = damage(root, file, how)
    if (file, how) in WELL_FORMED:
        use(root)  # the values are wrong but well-formed: only the checksums can tell
        assert [p.path for p in CatalogStore.open(root).verify()] == [path]
    else:
        with pytest.raises(StoreError, match=path.name):
            use(root)
    result = CliRunner().invoke(app, ["check", "--store", str(root)])
    assert result.exit_code == 2 and path.name in result.stderr and "Traceback" not in result.output


def test_a_damaged_item_record_names_its_line(pristine, tmp_path):
    root = Path(shutil.copytree(pristine, tmp_path / "store"))
    seg = CatalogStore.open(root).segments[0]
    lines = seg.path("meta.jsonl").read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"id"', b'"\xffd"')
    seg.path("meta.jsonl").write_bytes(b"\n".join(lines))
    store = CatalogStore.open(root)
    with pytest.raises(StoreError, match=r"meta.jsonl, line 3: damaged item record"):
        store.get("a2")
    assert store.get("a1").item_id == "a1"  # the other rows still read


def test_a_store_without_checksums_still_opens_and_check_says_what_it_cannot_vouch_for(pristine, tmp_path):
    import json

    root = Path(shutil.copytree(pristine, tmp_path / "store"))
    manifest = json.loads((root / "store.json").read_text())
    manifest.pop("checksums")
    (root / "store.json").write_text(json.dumps(manifest))
    store = CatalogStore.open(root)
    assert len(store) == 8 and store.verify() == [] and len(store.unchecked()) == 12
    result = CliRunner().invoke(app, ["check", "--store", str(root)])
    assert result.exit_code == 0 and "unchecked" in result.stdout


def test_a_back_filled_feature_is_recorded_and_checked(pristine, tmp_path):
    root = Path(shutil.copytree(pristine, tmp_path / "store"))
    store = CatalogStore.open(root)
    store.add_segment_features(store.segments[0].name, "extra", np.ones((5, 2), np.float32))
    store = CatalogStore.open(root)
    assert store.verify() == [] and store.unchecked() == []
    path = store.segments[0].path("extra.npy")
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(StoreError, match="extra.npy"):
        CatalogStore.open(root)
