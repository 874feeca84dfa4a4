"""The offline demo: index the shipped demo catalogue, query it with held-out photos, draw contact sheets."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outfitter.config import DEFAULT_BACKBONE
from outfitter.datasets import read_manifest
from outfitter.indexing import index_items
from outfitter.recommend import Catalog
from outfitter.sheets import SheetCell, contact_sheet
from outfitter.types import Hit, Item

DEMO_QUERIES_SHOWN = 4
DEMO_EPOCHS = 30


def demo_data() -> Path:
    """The folder of shipped demo photos and their manifests (catalog.csv, queries.csv)."""
    return Path(str(files("outfitter") / "demo_data"))


def demo_catalog(out: Path, data: Path, *, progress: bool = True) -> Catalog:
    """The demo catalogue indexed into `out/store` (reused if already complete)."""
    index_items(read_manifest(data / "catalog.csv"), out / "store", progress=progress)
    return Catalog.open(out / "store")


def run_demo(out: Path, *, k: int = 5, data: Path | None = None, epochs: int = DEMO_EPOCHS,
             console: Console | None = None) -> list[Path]:
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
    model = train_demo_model(catalog, out, console, epochs=epochs)
    return [sheet, show_complementary(Catalog.open(out / "store", model=model), queries, out, console)]


def train_demo_model(catalog: Catalog, out: Path, console: Console, *, epochs: int = DEMO_EPOCHS) -> Path:
    """Make rule-made outfits of the demo catalogue, train a CompatibilityMLP on them, and report its test metrics."""
    from outfitter.compat import evaluate, train
    from outfitter.datasets import PolyvoreOutfits
    from outfitter.datasets.polyvore_export import write_polyvore
    from outfitter.demo_outfits import demo_splits

    items = [catalog.store.get(i) for i in catalog.store.ids()]
    splits = demo_splits(items)
    root = write_polyvore(out / "outfits", items, splits)
    console.print(f"[bold]complementary items[/bold]: {sum(len(s.outfits) for s in splits.values())} rule-made demo "
                  f"outfits written in Polyvore format to {root}; training a CompatibilityMLP")
    dataset = PolyvoreOutfits(root)
    result = train(dataset, model="mlp", out=out / "demo-mlp.pt", epochs=epochs, batch_size=64, lr=1e-3,
                   cache_dir=out / "cache", progress=False)
    metrics = evaluate(dataset, "test", result.checkpoint, out / "cache", progress=False)
    console.print(f"demo model on its held-out rule-made outfits: AUC {metrics['auc']:.3f}, "
                  f"FITB accuracy {metrics['fitb_accuracy']:.3f} (chance 0.25); curves in {result.curves}")
    return result.checkpoint


def show_complementary(catalog: Catalog, queries: list[Item], out: Path, console: Console) -> Path:
    """Complete an outfit for a few query photos; print them and draw one row per category."""
    rows = []
    for query in queries[:DEMO_QUERIES_SHOWN]:
        found = catalog.complementary(images=[query.path], k=3)
        picks = {cat: hits[0] for cat, hits in found.items() if hits}
        console.print(f"goes with {Path(query.path).name} ({query.category}): " +
                      ", ".join(f"{cat} {hit.item_id} ({hit.score:.2f})" for cat, hit in picks.items()))
        rows.append((f"{query.category} ->", [SheetCell(query.path, ("query",))] +
                     [SheetCell(h.path, (cat, h.item_id, f"{h.score:.3f}")) for cat, h in picks.items()]))
    sheet = contact_sheet(rows, out / "complementary.png", title="outfitter: what goes with it (best item per category)")
    console.print(f"contact sheet written to [bold]{sheet}[/bold]")
    return sheet


def _table(query: Item, hits: list[Hit]) -> Table:
    table = Table(title=f"query: {Path(query.path or '').name} ({query.category})", title_justify="left")
    for col in ("#", "similar item", "category", "score"):
        table.add_column(col)
    for rank, hit in enumerate(hits, 1):
        mark = "" if hit.category == query.category else " [red](other)[/red]"
        table.add_row(str(rank), hit.item_id, f"{hit.category}{mark}", f"{hit.score:.3f}")
    return table
