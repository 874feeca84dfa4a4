"""The offline demo: index the shipped demo catalogue, query it with held-out photos, draw contact sheets."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outfitter.config import DEFAULT_BACKBONE
from outfitter.datasets import read_manifest
from outfitter.pipeline.indexing import index_items
from outfitter.recommend import Catalog
from outfitter.sheets import SheetCell, contact_sheet
from outfitter.types import Hit, Item

DEMO_QUERIES_SHOWN = 4
SHEETS = ("similar.png", "complementary.png")


def demo_data() -> Path:
    """The folder of shipped demo photos and their manifests (catalog.csv, queries.csv)."""
    return Path(str(files("outfitter.demo") / "data"))


def demo_catalog(out: Path, data: Path, *, progress: bool = True) -> Catalog:
    """The demo catalogue indexed into `out/store` (reused if already complete)."""
    index_items(read_manifest(data / "catalog.csv"), out / "store", progress=progress)
    return Catalog.open(out / "store")


def demo_done(out: Path, data: Path | None = None) -> bool:
    """Whether `out` holds a finished demo: a store of every demo catalogue item, and both contact sheets."""
    from outfitter.catalog import CatalogStore
    from outfitter.errors import StoreError

    if not all((out / name).is_file() for name in SHEETS):
        return False
    try:
        store = CatalogStore.open(out / "store")
    except StoreError:
        return False
    return all(item.item_id in store for item in read_manifest((data or demo_data()) / "catalog.csv"))


def run_demo(out: Path, *, k: int = 5, data: Path | None = None, console: Console | None = None) -> list[Path]:
    """Run the whole demo on `data` (default: the shipped photos); returns the pictures it wrote."""
    console = console or Console()
    data = data or demo_data()
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]outfitter demo[/bold]: indexing {data / 'catalog.csv'} (offline, {DEFAULT_BACKBONE})")
    catalog = demo_catalog(out, data)
    queries = read_manifest(data / "queries.csv")
    results = [(q, catalog.similar(image=q.path, k=k)) for q in queries]
    for query, hits in results[:DEMO_QUERIES_SHOWN]:
        console.print(_table(query, hits))
    precision = sum(h.category == q.category for q, hits in results for h in hits) / sum(len(h) for _, h in results)
    console.print(f"category precision@{k} over all {len(queries)} demo queries: {precision:.2f}")
    sheet = contact_sheet([(f"{q.category}", [SheetCell(q.path, ("query",))] + [SheetCell.from_hit(h) for h in hits])
                           for q, hits in results], out / "similar.png", title="outfitter: similar items")
    console.print(f"contact sheet written to [bold]{sheet}[/bold]")
    return [sheet, show_complementary(catalog, queries, out, console, k=min(k, 3))]


def show_complementary(catalog: Catalog, queries: list[Item], out: Path, console: Console, *, k: int = 3) -> Path:
    """What completes each query photo with the shipped model: one row per outfit slot, then two outfit verdicts."""
    console.print("[bold]what goes with it[/bold] (shipped GarmentNet, learned from real street outfits)")
    rows = []
    for query in queries:
        slot = catalog.query_slots(images=[query.path])[0]
        found = catalog.complementary(images=[query.path], k=k, query_slots=[slot])
        console.print(f"{Path(query.path).name} ({query.category}, looks like {slot}): " +
                      ", ".join(f"{row} {hits[0].item_id} ({hits[0].category})" for row, hits in found.items() if hits))
        if len(rows) < DEMO_QUERIES_SHOWN * 4:
            rows += [(row, [SheetCell(query.path, ("query", query.category))] +
                      [SheetCell.from_hit(h) for h in hits]) for row, hits in found.items() if hits]
        if query is queries[0]:
            show_verdicts(catalog, query, slot, found, console)
    sheet = contact_sheet(rows, out / "complementary.png", title="outfitter: what completes the look (one row per slot)")
    console.print(f"contact sheet written to [bold]{sheet}[/bold]")
    return sheet


def show_verdicts(catalog: Catalog, query: Item, slot: str | None, found: dict[str, list[Hit]],
                  console: Console) -> None:
    """Score the query (of `slot`) with its best picks, and two catalogue items of one slot (a clash)."""
    picks = [hits[0].item_id for hits in found.values() if hits]
    good = catalog.score_outfit(item_ids=picks, images=[query.path], query_slots=catalog.query_slots(picks) + [slot])
    console.print(f"outfit score of {Path(query.path).name} with those picks: {good.verdict} ({good.score:.2f})")
    by_slot = {}
    for item_id in catalog.store.ids():
        slot = catalog.query_slots([item_id])[0]
        by_slot.setdefault(slot, []).append(item_id)
        if len(by_slot[slot]) == 2:
            clash = catalog.score_outfit(item_ids=by_slot[slot])
            console.print(f"two {slot} ({', '.join(by_slot[slot])}) as an outfit: {clash.verdict} ({clash.score:.2f})")
            return


def _table(query: Item, hits: list[Hit]) -> Table:
    """The hits of one held-out query photo, a hit of another category than the photo's marked as a miss."""
    misses = any(hit.category != query.category for hit in hits)
    table = Table(title=f"query: {Path(query.path or '').name} ({query.category})", title_justify="left",
                  caption=f"[red](not {query.category})[/red]: in another category than the query photo"
                  if misses else None, caption_justify="left")
    for col in ("#", "similar item", "category", "score", "match"):
        table.add_column(col)
    for rank, hit in enumerate(hits, 1):
        mark = "" if hit.category == query.category else f" [red](not {query.category})[/red]"
        table.add_row(str(rank), hit.item_id, f"{hit.category}{mark}", f"{hit.score:.3f}", hit.match or "-")
    return table
