"""Writers that overlap or die at the worst moment: concurrent processes appending, deleting and compacting one
store lose none of each other's commits; a writer killed just before its manifest rename leaves the old store
whole, with only a temporary file for `check --repair` to remove."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


from outfitter.catalog import CatalogStore

WRITER = """
import sys
import numpy as np
from outfitter.catalog import CatalogStore
from outfitter.types import Item

root, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(abs(hash(name)) % 1000)
for r in range(rounds):
    store = CatalogStore.open(root)
    ids = [f"{name}/{r}/{i}" for i in range(3)]
    store.append([Item(i, None, name) for i in ids], rng.normal(size=(3, 8)).astype(np.float32))
    store.delete([ids[0]])
    if r % 4 == 3:
        store.compact()
"""

PAUSED_BEFORE_RENAME = """
import os, sys, time
import numpy as np
from outfitter.utils import atomic
from outfitter.catalog import CatalogStore
from outfitter.types import Item

replace = os.replace
def slow_replace(src, dst):
    if str(dst).endswith("store.json"):
        print("renaming", flush=True)
        time.sleep(60)
    replace(src, dst)
atomic.os.replace = slow_replace
store = CatalogStore.open(sys.argv[1])
store.append([Item("late", None, "tops")], np.ones((1, 8), np.float32))
"""


def test_concurrent_writers_lose_none_of_each_others_commits(tmp_path):
    root = tmp_path / "store"
    CatalogStore.create(root, backbone="toy", dim=8)
    names, rounds = ["w0", "w1", "w2"], 20
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), name, str(rounds)]) for name in names]
    assert [w.wait(timeout=300) for w in writers] == [0, 0, 0]
    store = CatalogStore.open(root)
    expected = {f"{n}/{r}/{i}" for n in names for r in range(rounds) for i in (1, 2)}
    assert set(store.ids()) == expected and len(store) == len(expected)
    assert store.verify() == [] and store.unchecked() == []
    assert store.orphans() == []


def test_a_writer_killed_before_its_manifest_rename_leaves_the_old_store(tmp_path):
    root = tmp_path / "store"
    CatalogStore.create(root, backbone="toy", dim=8)
    job = subprocess.Popen([sys.executable, "-c", PAUSED_BEFORE_RENAME, str(root)], stdout=subprocess.PIPE, text=True)
    assert job.stdout.readline().strip() == "renaming"  # segment files written, new manifest waiting in a temp file
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=30)
    reopened = CatalogStore.open(root)
    assert len(reopened) == 0 and reopened.verify() == []
    leftovers = reopened.orphans()
    assert any(p.name.startswith(".store.json.") for p in leftovers) and any(p.name.startswith("seg-") for p in leftovers)
    assert reopened.remove_orphans() == leftovers
    assert sorted(p.name for p in Path(root).iterdir()) == [".lock", "store.json"]
