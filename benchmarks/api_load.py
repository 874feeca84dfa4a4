"""Load the REST API over loopback: 8 clients send 500 mixed requests; prints p50/p99 latency and the error count.

    python benchmarks/api_load.py [--store DIR] [--model FILE] [--requests 500] [--clients 8]

Without --store it indexes the shipped demo catalogue (once, into a temporary folder). The server binds a free
port on 127.0.0.1 and the run stops by itself: after the requests are done, or after --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np

from outfitter.demo import demo_catalog, demo_data
from outfitter.recommend import Catalog
from outfitter.service import create_app, running


@dataclass(frozen=True)
class Call:
    """One request of the mix: its kind, and how to send it."""

    kind: str
    method: str
    path: str
    json: dict | None = None
    image: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    kind: str
    seconds: float
    status: int


def plan(catalog: Catalog, photos: list[bytes], n: int, seed: int) -> list[Call]:
    """n calls: 40% photo uploads, 30% similar by item, 10% complements (with a model, else items), 20% item reads."""
    rng = random.Random(seed)
    ids = catalog.store.ids()
    kinds = ["upload"] * 4 + ["similar-item"] * 3 + ["complementary" if catalog.has_model else "item", "item", "items"]
    return [_call(rng.choice(kinds), rng.choice(ids), rng.choice(photos), rng.randrange(len(ids))) for _ in range(n)]


def _call(kind: str, item: str, photo: bytes, offset: int) -> Call:
    """The request of one kind, about `item`, `photo` or the catalogue page at `offset`."""
    if kind == "upload":
        return Call(kind, "POST", "/similar?k=10", image=photo)
    if kind == "similar-item":
        return Call(kind, "POST", "/similar?k=10", json={"item_id": item})
    if kind == "complementary":
        return Call(kind, "POST", "/complementary?k=5", json={"item_ids": [item]})
    if kind == "item":
        return Call(kind, "GET", f"/items/{quote(item, safe='/')}")
    return Call(kind, "GET", f"/items?offset={offset}&limit=20")


async def send(client: httpx.AsyncClient, call: Call) -> Outcome:
    """Send one call; a transport failure counts as status 0."""
    start = time.perf_counter()
    try:
        files = {"image": ("photo.jpg", call.image, "image/jpeg")} if call.image is not None else None
        response = await client.request(call.method, call.path, json=call.json, files=files)
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return Outcome(call.kind, time.perf_counter() - start, status)


async def load(url: str, calls: list[Call], clients: int, max_seconds: float) -> tuple[list[Outcome], float]:
    """`clients` workers take calls from one queue until it is empty or time is up."""
    queue: asyncio.Queue[Call] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    outcomes: list[Outcome] = []
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while not queue.empty() and time.perf_counter() < deadline:
                outcomes.append(await send(client, queue.get_nowait()))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return outcomes, time.perf_counter() - start


def baseline(catalog: Catalog, photos: list[bytes], n: int = 20) -> dict[str, float]:
    """Median seconds of the library calls behind the two main kinds, in this process, one at a time."""
    ids = catalog.store.ids()
    upload = [_timed(catalog.similar, image=photos[i % len(photos)], k=10) for i in range(n)]
    by_item = [_timed(catalog.similar, ids[i % len(ids)], k=10) for i in range(n)]
    return {"upload": statistics.median(upload), "similar-item": statistics.median(by_item)}


def _timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def report(outcomes: list[Outcome], wall: float, planned: int, base: dict[str, float]) -> int:
    """Print latency per kind and overall; return the number of errors (non-2xx, failures, and calls never sent)."""
    by_kind = defaultdict(list)
    for o in outcomes:
        by_kind[o.kind].append(o)
    print(f"{'kind':<14}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'library ms':>12}{'p50/library':>13}")
    for kind, group in sorted(by_kind.items()) + [("all", outcomes)]:
        ms = np.array([o.seconds for o in group]) * 1000
        errors = sum(not 200 <= o.status < 300 for o in group)
        lib = base.get(kind)
        extra = f"{lib * 1000:>12.1f}{np.percentile(ms, 50) / (lib * 1000):>12.1f}x" if lib else ""
        print(f"{kind:<14}{len(group):>5}{np.percentile(ms, 50):>9.1f}{np.percentile(ms, 99):>9.1f}{errors:>8}{extra}")
    errors = sum(not 200 <= o.status < 300 for o in outcomes) + planned - len(outcomes)
    print(f"{len(outcomes)}/{planned} requests in {wall:.1f} s ({len(outcomes) / wall:.1f} req/s), {errors} errors")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="catalogue store (default: the demo catalogue, indexed once)")
    parser.add_argument("--model", type=Path, help="compatibility model checkpoint, to include complementary calls")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop sending after this long")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    store = args.store or _demo_store()
    catalog = Catalog.open(store, model=args.model)
    photos = [p.read_bytes() for p in sorted((demo_data() / "queries").rglob("*.jpg"))]
    calls = plan(catalog, photos, args.requests, args.seed)
    base = baseline(catalog, photos)
    with running(create_app(store, model=args.model)) as url:
        print(f"serving {store} ({len(catalog)} items) at {url}; {args.requests} requests from {args.clients} clients")
        outcomes, wall = asyncio.run(load(url, calls, args.clients, args.max_seconds))
    return 1 if report(outcomes, wall, len(calls), base) else 0


def _demo_store() -> Path:
    out = Path(tempfile.gettempdir()) / "outfitter-bench-demo"
    print(f"indexing the demo catalogue into {out / 'store'} (reused when complete)", file=sys.stderr)
    demo_catalog(out, demo_data(), progress=False)
    return out / "store"


if __name__ == "__main__":
    sys.exit(main())
