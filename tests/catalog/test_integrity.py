"""Checked store files: damage is found and named, never served silently; orphans are found and removed."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from outfitter.catalog import CatalogStore
from outfitter.cli import app
from outfitter.errors import StoreError
from tests.catalog.test_store import items, unit

runner = CliRunner()


@pytest.fixture
def filled(tmp_path) -> CatalogStore:
    store = CatalogStore.create(tmp_path / "store", backbone="toy", dim=8)
    store.append(items("a", 4), unit(4))
    store.append(items("b", 3, category="shoes"), unit(3, seed=1))
    return store


def test_a_sound_store_verifies_and_checks_clean(filled):
    assert filled.verify() == [] and filled.orphans() == []
    result = runner.invoke(app, ["check", "--store", str(filled.root)])
    assert result.exit_code == 0 and "every file as written" in result.stdout


def test_flipped_bytes_are_found_and_named(filled):
    path = filled.segments[0].path("vectors.npy")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = CatalogStore.open(filled.root).verify()
    assert [(p.path, "flipped" in p.reason) for p in problems] == [(path, True)]
    result = runner.invoke(app, ["check", "--store", str(filled.root)])
    assert result.exit_code == 2 and path.name in result.stderr and "re-index" in result.stderr


@pytest.mark.parametrize("damage", ["truncate", "remove"])
def test_a_truncated_or_missing_file_stops_opening_with_its_name(filled, damage):
    path = filled.segments[1].path("ids.npy")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:50])
    else:
        path.unlink()
    with pytest.raises(StoreError, match=f"{path.name}.*(truncated|missing)"):
        CatalogStore.open(filled.root)


@pytest.mark.parametrize("edit, field", [(lambda m: m.pop("segments"), "segments"),
                                         (lambda m: m["segments"].append(m["segments"][0]), "segments"),
                                         (lambda m: m.update(dim="8"), "dim")])
def test_a_damaged_manifest_names_the_field(filled, edit, field):
    path = filled.root / "store.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=f"field '{field}'"):
        CatalogStore.open(filled.root)


def test_orphans_of_failed_writes_are_listed_then_removed_by_repair(filled):
    stray = filled.root / "seg-000000000000.vectors.npy"
    np.save(stray, np.zeros((2, 8), np.float32))
    temp = filled.root / ".seg-abc.ids.npy.x1.tmp"
    temp.write_bytes(b"half")
    assert CatalogStore.open(filled.root).orphans() == [temp, stray]
    result = runner.invoke(app, ["check", "--store", str(filled.root), "--repair"])
    assert result.exit_code == 0 and "removed" in result.stdout
    assert not stray.exists() and not temp.exists() and len(CatalogStore.open(filled.root)) == 7


def test_files_that_passed_are_remembered_up_to_a_bound_then_hashed_again(tmp_path, monkeypatch):
    from outfitter.catalog import integrity

    monkeypatch.setattr(integrity, "_checked", integrity.OrderedDict())
    monkeypatch.setattr(integrity, "CHECKED_MAX", 2)
    paths = [tmp_path / f"{name}.bin" for name in "abc"]
    for path in paths:
        path.write_bytes(b"\x00" * 64)
    written = [integrity.record(path) for path in paths]
    assert all(integrity.digest_problem(p, r) is None for p, r in zip(paths, written))
    assert len(integrity._checked) == 2 and str(paths[0]) not in {key[0] for key in integrity._checked}

    def flip_keeping_size_and_time(path):
        stat = path.stat()
        path.write_bytes(b"\x01" + b"\x00" * 63)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    flip_keeping_size_and_time(paths[2])  # still remembered: not hashed again, as the cache promises
    assert integrity.digest_problem(paths[2], written[2]) is None
    flip_keeping_size_and_time(paths[0])  # forgotten: hashed again, and the flip is found
    assert integrity.digest_problem(paths[0], written[0]) == "contents changed since written (flipped bytes)"
