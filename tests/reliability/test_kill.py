"""kill -9 in the middle of an embedding job and of a compaction: rerun, and the store holds every item once,
with the vectors an uninterrupted run gives; nothing half-written is ever visible."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from outfitter.catalog import CatalogStore
from outfitter.datasets import read_folder
from outfitter.pipeline.indexing import index_items
from tests.drawing import COLOURS, draw_shop

JOB = """
import sys, time
from outfitter.backbones import create_backbone
from outfitter.catalog import CatalogStore
from outfitter.datasets import read_folder
from outfitter.pipeline import embed_into_store

photos, root = sys.argv[1], sys.argv[2]
backbone = create_backbone("efficientnet_lite0_fashion")
store = CatalogStore.open_or_create(root, backbone=backbone.name, dim=backbone.dim)
slow = lambda batch: (time.sleep(0.3), backbone.embed_pixels(batch))[1]
embed_into_store(read_folder(photos), store, backbone, batch_size=2, chunk=2, workers=0, progress=False, embed=slow)
"""


SLOW_COMPACTION = """
import sys, time
from outfitter.catalog import CatalogStore, store as module

write = module.write_npy
module.write_npy = lambda path, array: (time.sleep(0.2), write(path, array))[1]
store = CatalogStore.open(sys.argv[1])
store.delete([store.ids()[0]])
print("compacting", flush=True)
store.compact()
"""


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return draw_shop(tmp_path_factory.mktemp("kill-photos"), [*COLOURS.values(), (120, 120, 120), (200, 200, 40)],
                     seed=70)


@pytest.fixture(scope="module")
def reference(photos, tmp_path_factory) -> CatalogStore:
    """The same photos indexed without interruption."""
    root = tmp_path_factory.mktemp("reference") / "store"
    index_items(read_folder(photos), root, workers=0, progress=False, runtime="torch")
    return CatalogStore.open(root)


def segments_in(root: Path) -> int:
    """Segments the store's manifest lists now (0 before it exists)."""
    try:
        return len(json.loads((root / "store.json").read_text())["segments"])
    except (OSError, ValueError, KeyError):
        return 0


def run_job(photos: Path, root: Path, *, kill_after_segments: int | None = None) -> None:
    """The embedding job in a subprocess, killed with SIGKILL once the store has that many segments."""
    job = subprocess.Popen([sys.executable, "-c", JOB, str(photos), str(root)])
    if kill_after_segments is None:
        assert job.wait(timeout=300) == 0
        return
    deadline = time.monotonic() + 300
    while segments_in(root) < kill_after_segments and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=30)


def assert_same_items(store: CatalogStore, reference: CatalogStore) -> None:
    """Every item once, each with the reference's vector."""
    assert sorted(store.ids()) == sorted(reference.ids())
    assert len(store.all_ids()) == len(set(store.all_ids().tolist()))
    for item_id in reference.ids():
        np.testing.assert_allclose(store.vector(item_id), reference.vector(item_id), atol=1e-5)


def test_an_embedding_job_killed_midway_finishes_on_rerun_with_nothing_lost_or_doubled(photos, reference, tmp_path):
    root = tmp_path / "store"
    run_job(photos, root, kill_after_segments=2)
    interrupted = CatalogStore.open(root)
    assert 0 < len(interrupted) < len(reference) and interrupted.verify() == []
    run_job(photos, root)
    store = CatalogStore.open(root)
    assert_same_items(store, reference)
    assert store.verify() == [] and store.orphans() == []


def test_a_compaction_killed_midway_leaves_a_whole_store(photos, reference, tmp_path):
    root = tmp_path / "store"
    run_job(photos, root)
    for delay in (0.1, 0.45, 0.85, 1.3):  # each file of the new segment takes 0.2 s to write: killed at several
        before = len(CatalogStore.open(root))
        job = subprocess.Popen([sys.executable, "-c", SLOW_COMPACTION, str(root)], stdout=subprocess.PIPE, text=True)
        assert job.stdout.readline().strip() == "compacting"
        time.sleep(delay)
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=30)
        store = CatalogStore.open(root)
        assert store.verify() == [] and len(store) == before - 1  # the delete committed, the compaction did not
    CatalogStore.open(root).remove_orphans()
    store = CatalogStore.open(root)
    assert store.verify() == [] and store.orphans() == []
    assert set(store.ids()) <= set(reference.ids())
