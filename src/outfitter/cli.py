"""The `outfitter` command line: thin commands that turn options into library calls."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from outfitter.errors import OutfitterError

app = typer.Typer(help="Similar and complementary fashion items from one photo.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

StoreOpt = Annotated[Path, typer.Option("--store", help="Catalogue store directory.")]
BackboneOpt = Annotated[str, typer.Option("--backbone", help="Backbone name (see `outfitter backbones`).")]
WeightsOpt = Annotated[Optional[Path], typer.Option("--weights", help="Pretrained weights file for the backbone.")]


def reports_errors(command: Callable) -> Callable:
    """Turn outfitter's own errors into a one-line message and exit code 2."""

    @wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OutfitterError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return run


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    """Configure logging for every command."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@app.command()
def backbones() -> None:
    """List the registered backbones."""
    from outfitter.backbones import get_spec, list_backbones

    for name in list_backbones():
        console.print(f"[bold]{name}[/bold]  {get_spec(name).description}")


@app.command()
@reports_errors
def index(
    source: Annotated[Optional[Path], typer.Argument(help="A folder of photos (category = sub-folder) or a CSV manifest.")] = None,
    store: StoreOpt = Path("outfitter-store"),
    polyvore: Annotated[Optional[Path], typer.Option(help="Index Polyvore Outfits items from this root instead.")] = None,
    version: Annotated[str, typer.Option(help="Polyvore Outfits version: nondisjoint or disjoint.")] = "nondisjoint",
    backbone: BackboneOpt = "efficientnet_lite0",
    weights: WeightsOpt = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    workers: Annotated[Optional[int], typer.Option(min=0, help="Decoding processes (default: spare cores).")] = None,
) -> None:
    """Embed photos into a catalogue store (resumable: run again to finish an interrupted job)."""
    from outfitter.indexing import index_items, load_items

    items = load_items(source, polyvore=polyvore, version=version, warn=_warn)
    report = index_items(items, store, backbone=backbone, weights=weights, batch_size=batch_size, workers=workers)
    console.print(f"indexed {report.embedded} new items into {store} "
                  f"({report.already_stored} already there, {len(report.failed)} skipped)")
    for item_id, reason in report.failed[:20]:
        _warn(f"skipped {item_id}: {reason}")


@app.command()
@reports_errors
def similar(
    store: StoreOpt,
    image: Annotated[Optional[list[Path]], typer.Option("--image", help="Query photo (repeatable).")] = None,
    item: Annotated[Optional[list[str]], typer.Option("--item", help="Query catalogue item id (repeatable).")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Results per query.")] = 10,
    category: Annotated[Optional[str], typer.Option(help="Only items of this category.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query.")] = False,
    weights: WeightsOpt = None,
) -> None:
    """Find the items most similar to photos or catalogue items."""
    from outfitter.errors import InputError
    from outfitter.recommend import Catalog

    if not image and not item:
        raise InputError("give at least one --image PATH or --item ID")
    catalog = Catalog.open(store, weights=weights)
    queries = [(str(p), {"image": p}) for p in image or []] + [(i, {"item_id": i}) for i in item or []]
    for label, query in queries:
        hits = catalog.similar(**query, k=k, category=category)
        if as_json:
            print(json.dumps({"query": label, "hits": [h.to_dict() for h in hits]}))
        else:
            console.print(hits_table(f"similar to {label}", hits))


def hits_table(title: str, hits) -> Table:
    """A readable table of hits."""
    table = Table(title=title, title_justify="left")
    for col in ("#", "id", "category", "score"):
        table.add_column(col, justify="right" if col in ("#", "score") else "left")
    for rank, hit in enumerate(hits, 1):
        table.add_row(str(rank), hit.item_id, hit.category or "-", f"{hit.score:.3f}")
    return table


@app.command()
@reports_errors
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo store and pictures go.")] = Path("outfitter-demo"),
    k: Annotated[int, typer.Option("--k", min=1)] = 5,
) -> None:
    """Index the shipped demo catalogue offline, query it, and write contact sheets."""
    from outfitter.demo import run_demo

    run_demo(out, k=k, console=console)


def _warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(app())
