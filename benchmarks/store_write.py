"""How fast the embedding job's writer (the driver, whatever the runner) stores rows, and whether it slows down as
the store grows: the rows arrive ready-made (vectors and per-item features), as they do from a Ray cluster.

    python benchmarks/store_write.py [--rows 1000000] [--baseline-rows 100000] [--json]

Two writers, in the same run: the shipped one (chunks growing to a sixteenth of what it has written) and, as the
baseline, fixed 512-item chunks (one segment each, as before). Each prints rows/s over the first and the last
tenth of its rows, their ratio (1.0: no slow-down as the store grows), its segment count and manifest size. A
Ray job's cluster can embed faster than one core writes only if this rate stays above the cluster's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from outfitter.catalog import CatalogStore
from outfitter.catalog.store import MANIFEST
from outfitter.config import DEFAULT_BACKBONE
from outfitter.pipeline.features import FEATURES, compute_features
from outfitter.pipeline.stages import GROWN_CHUNK, StoreWriter
from outfitter.types import Item

DIM = 256  # the default backbone's width
BATCH = 64  # rows per batch arriving from the runner


def write(rows: int, largest: int) -> dict:
    """Write `rows` rows through a StoreWriter whose chunks grow up to `largest` items (512: fixed 512-row chunks)."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((BATCH, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    features = compute_features(torch.randint(0, 256, (BATCH, 3, 224, 224), dtype=torch.uint8), list(FEATURES))
    tenth, marks = max(rows // 10, BATCH), []
    with tempfile.TemporaryDirectory() as folder:
        store = CatalogStore.create(Path(folder) / "store", backbone=DEFAULT_BACKBONE, dim=DIM)
        writer = StoreWriter(store, largest=largest)
        start = time.perf_counter()
        for first in range(0, rows, BATCH):
            n = min(BATCH, rows - first)
            writer.add([Item(f"item-{i}", f"photos/{i}.jpg", "tops") for i in range(first, first + n)], vectors[:n],
                       {name: values[:n] for name, values in features.items()})
            if (first + n) % tenth < BATCH:
                marks.append((first + n, time.perf_counter()))
        writer.flush()
        end = time.perf_counter()
        segments, manifest = len(store.segments), (store.root / MANIFEST).stat().st_size
    first_rate = marks[0][0] / (marks[0][1] - start)
    last_rate = (rows - marks[-2][0]) / (end - marks[-2][1])
    return {"rows": rows, "seconds": round(end - start, 1), "rows_per_s": round(rows / (end - start)),
            "first_tenth_rows_per_s": round(first_rate), "last_tenth_rows_per_s": round(last_rate),
            "last_over_first": round(last_rate / first_rate, 2), "segments": segments, "manifest_bytes": manifest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000,
                        help="Rows for the fixed-chunk baseline (it slows down as it grows: keep it smaller).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {"growing chunks": write(args.rows, GROWN_CHUNK),
               "fixed 512-row chunks (baseline)": write(args.baseline_rows, 512)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, r in results.items():
        print(f"{name}: {r['rows']:,} rows in {r['seconds']} s = {r['rows_per_s']:,} rows/s; first tenth "
              f"{r['first_tenth_rows_per_s']:,}, last tenth {r['last_tenth_rows_per_s']:,} rows/s (last / first "
              f"{r['last_over_first']}); {r['segments']} segments, manifest {r['manifest_bytes'] / 1024:.0f} KiB")
    grown, fixed = results["growing chunks"], results["fixed 512-row chunks (baseline)"]
    print(f"growing / fixed, last tenth: {grown['last_tenth_rows_per_s'] / fixed['last_tenth_rows_per_s']:.1f}x "
          f"(at {grown['rows']:,} against {fixed['rows']:,} rows)")


if __name__ == "__main__":
    main()
