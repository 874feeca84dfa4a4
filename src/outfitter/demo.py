"""The offline demo: index the shipped demo catalogue, query it with held-out photos, draw contact sheets."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outfitter.datasets import read_manifest
from outfitter.indexing import index_items
from outfitter.recommend import Catalog
from outfitter.sheets import SheetCell, contact_sheet
from outfitter.types import Hit, Item

DEMO_QUERIES_SHOWN = 4


def demo_data() -> Path:
    """The folder of shipped demo photos and their manifests (catalog.csv, queries.csv)."""
    return Path(str(files("outfitter") / "demo_data"))


def demo_catalog(out: Path, data: Path, *, progress: bool = True) -> Catalog:
    """The demo catalogue indexed into `out/store` (reused if already complete)."""
    index_items(read_manifest(data / "catalog.csv"), out / "store", progress=progress)
    return Catalog.open(out / "store")


def run_demo(out: Path, *, k: int = 5, data: Path | None = None, console: Console | None = None) -> list[Path]:
    """Run the whole demo on `data` (default: the shipped photos); returns the pictures it wrote."""
    console = console or Console()
    data = data or demo_data()
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]outfitter demo[/bold]: indexing {data / 'catalog.csv'} (offline, efficientnet_lite0)")
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
    return [sheet]


def _table(query: Item, hits: list[Hit]) -> Table:
    table = Table(title=f"query: {Path(query.path or '').name} ({query.category})", title_justify="left")
    for col in ("#", "similar item", "category", "score"):
        table.add_column(col)
    for rank, hit in enumerate(hits, 1):
        mark = "" if hit.category == query.category else " [red](other)[/red]"
        table.add_row(str(rank), hit.item_id, f"{hit.category}{mark}", f"{hit.score:.3f}")
    return table
