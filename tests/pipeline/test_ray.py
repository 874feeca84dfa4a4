"""The embedding job on a real Ray cluster started here: a head and one more node of one CPU each. The job spreads
over both, stores exactly what the local runner stores, survives a killed worker, and a rerun embeds nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from outfitter.backbones import create_backbone
from outfitter.catalog import CatalogStore
from outfitter.datasets import read_folder
from outfitter.pipeline import embed_into_store
from outfitter.pipeline.indexing import index_items
from outfitter.pipeline.ray_runner import RayRunner
from outfitter.pipeline.runners import BackboneEmbedder
from tests.drawing import COLOURS, draw_shop

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")
OPTIONS = {"progress": False, "runtime": "torch", "batch_size": 4}


@pytest.fixture(scope="module")
def cluster():
    """Two nodes of one CPU each; this process is the driver."""
    nodes = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, include_dashboard=False, log_to_driver=False)
    yield nodes
    ray.shutdown()
    nodes.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """24 drawn photos in three categories, and one that is not a photo."""
    root = draw_shop(tmp_path_factory.mktemp("ray-photos"), [*COLOURS.values(), (120, 120, 120), (200, 200, 40),
                                                              (10, 10, 10), (90, 30, 160), (250, 250, 250)], seed=300)
    (root / "tops" / "broken.jpg").write_text("not a photo")
    return root


@pytest.fixture(scope="module")
def local(photos, tmp_path_factory) -> CatalogStore:
    root = tmp_path_factory.mktemp("local") / "store"
    index_items(read_folder(photos), root, workers=0, **OPTIONS)
    return CatalogStore.open(root)


def map_workers() -> list[int]:
    """Process ids of Ray Data's worker actors on this machine (Ray titles them `ray::MapWorker(...)`)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(b"ray::MapWorker"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def assert_same(store: CatalogStore, reference: CatalogStore) -> None:
    assert sorted(store.ids()) == sorted(reference.ids()) and len(store.all_ids()) == len(set(store.all_ids()))
    for item_id in reference.ids():
        np.testing.assert_allclose(store.vector(item_id), reference.vector(item_id), atol=1e-5)
    rows = [store.row(i) for i in reference.ids()]
    np.testing.assert_allclose(store.features("garment_hsv")[rows],
                               reference.features("garment_hsv")[[reference.row(i) for i in reference.ids()]], atol=1e-6)


def test_the_job_spreads_over_the_cluster_and_stores_what_the_local_runner_stores(cluster, photos, local, tmp_path):
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    report = index_items(read_folder(photos), tmp_path / "store", runner="ray", workers=2, **OPTIONS)
    assert report.embedded == 24 and [i for i, _ in report.failed] == ["tops/broken"]
    store = CatalogStore.open(tmp_path / "store")
    assert_same(store, local)
    assert store.verify() == [] and store.orphans() == []
    again = index_items(read_folder(photos), tmp_path / "store", runner="ray", workers=2, **OPTIONS)
    assert again.embedded == 0 and again.already_stored == 24  # only the broken photo is tried again


def test_a_worker_killed_mid_job_loses_nothing_and_stores_nothing_twice(cluster, photos, local, tmp_path):
    root = tmp_path / "store"
    killed: list[int] = []

    def kill_a_worker_once_the_job_has_committed() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            if CatalogStore.open(root).segments:
                for pid in map_workers():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.05)

    backbone = create_backbone("efficientnet_lite0_fashion")
    store = CatalogStore.create(root, backbone=backbone.name, dim=backbone.dim)
    killer = threading.Thread(target=kill_a_worker_once_the_job_has_committed)
    killer.start()
    try:  # commits every 4 items, so the kill lands mid-job
        embed_into_store(read_folder(photos), store, backbone, batch_size=2, chunk=4, progress=False,
                         runner=RayRunner(workers=2), embedder=BackboneEmbedder(backbone.name, runtime="torch"))
    except Exception:  # the job may fail with its worker; a rerun must then finish it
        pass
    killer.join()
    assert killed, "no worker was running to kill"
    index_items(read_folder(photos), root, runner="ray", workers=2, **OPTIONS)
    store = CatalogStore.open(root)
    assert_same(store, local)
    assert store.verify() == []


def test_photos_named_by_uri_are_read_by_the_workers(cluster, photos, local, tmp_path):
    from outfitter.types import Item

    chosen = sorted(local.ids())[:3]
    items = [Item(i, "file://" + str(photos / f"{i}.jpg"), local.get(i).category) for i in chosen]
    report = index_items(items, tmp_path / "store", runner="ray", workers=2, **OPTIONS)
    store = CatalogStore.open(tmp_path / "store")
    assert report.embedded == 3 and store.get(chosen[0]).path.startswith("file://")
    for item_id in chosen:
        np.testing.assert_allclose(store.vector(item_id), local.vector(item_id), atol=1e-5)
