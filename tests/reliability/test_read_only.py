"""A store on a real read-only mount (a bind mount remounted `ro`; skipped where this process may not mount):
queries, complements and the API work, derived tables go to the user's cache, and every write is refused in one
line naming the store, with the store unchanged."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outfitter.catalog import CatalogStore
from outfitter.cli import app
from outfitter.service import create_app

runner = CliRunner()


@pytest.fixture
def read_only_store(photo_folder, tmp_path, monkeypatch) -> Iterator[Path]:
    """A store indexed from the photo folder, seen through a read-only bind mount."""
    source = tmp_path / "source"
    assert runner.invoke(app, ["index", str(photo_folder), "--store", str(source), "--workers", "0"]).exit_code == 0
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(mounted)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here (needs root or CAP_SYS_ADMIN)")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(mounted)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        monkeypatch.setattr("outfitter.catalog.store.SIDECAR_FALLBACK", tmp_path / "user-cache")
        yield mounted
    finally:
        subprocess.run(["umount", "--lazy", str(mounted)], check=True)  # lazy: memory maps may still be open


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


def test_a_read_only_store_answers_queries_and_refuses_writes_in_one_line(read_only_store, photo_folder, tmp_path):
    before = snapshot(read_only_store)
    photo = str(next(photo_folder.rglob("*.jpg")))
    assert not CatalogStore.open(read_only_store).writable()
    for command in (["similar", "--store", str(read_only_store), "--image", photo],
                    ["complete", "--store", str(read_only_store), "--image", photo],
                    ["check", "--store", str(read_only_store)],
                    ["check", "--store", str(read_only_store), "--repair"]):  # nothing to remove: nothing refused
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)

    more = tmp_path / "more"
    shutil.copytree(photo_folder, more / "extra")
    for command in (["index", str(more), "--store", str(read_only_store), "--workers", "0"],
                    ["delete", "--store", str(read_only_store), "--item", CatalogStore.open(read_only_store).ids()[0]]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "read-only" in result.stderr and str(read_only_store) in result.stderr, result.stderr
        assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) <= 2
    assert snapshot(read_only_store) == before


def test_the_api_serves_a_read_only_store(read_only_store, photo_folder):
    with TestClient(create_app(read_only_store)) as client:
        photo = next(photo_folder.rglob("*.jpg")).read_bytes()
        found = client.post("/similar", files={"image": ("p.jpg", photo, "image/jpeg")})
        assert found.status_code == 200 and found.json()["hits"]
        item = found.json()["hits"][0]["id"]
        rows = client.post("/complementary", json={"item_ids": [item]})
        assert rows.status_code == 200, rows.text
