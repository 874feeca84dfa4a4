"""The `outfitter` command line: thin commands that turn options into library calls."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from outfitter.config import DEFAULT_BACKBONE, DEFAULT_BATCH_SIZE, QUERY_EXPANSION
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
        except OSError as exc:  # disk full, read-only or forbidden: the writes are atomic, so nothing is half-done
            err_console.print(f"[red]error:[/red] {_os_error(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return run


OS_HINTS = {errno.ENOSPC: "the disk is full", errno.EFBIG: "the file grew past the allowed size",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
            errno.EPERM: "operation not permitted", errno.EDQUOT: "the disk quota is used up"}


def _os_error(exc: OSError) -> str:
    """One line: the file, what went wrong, and that the store is as it was before the command."""
    where = f"{exc.filename}: " if exc.filename else ""
    cause = f"{OS_HINTS[exc.errno]} ({exc.strerror or exc})" if exc.errno in OS_HINTS else exc.strerror or str(exc)
    return f"{where}{cause}; nothing was half-written, stores are as they were"


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
    backbone: BackboneOpt = DEFAULT_BACKBONE,
    weights: WeightsOpt = None,
    dtype: Annotated[str, typer.Option(help="Vector storage of a new store: float32, or float16 (half the size).")] = "float32",
    batch_size: Annotated[int, typer.Option(min=1)] = DEFAULT_BATCH_SIZE,
    workers: Annotated[Optional[int], typer.Option(min=0, help="Decoding threads (default: one per core, at least 2).")] = None,
    runtime: Annotated[str, typer.Option(help="auto (onnxruntime when it works), torch or onnx.")] = "auto",
    cache: Annotated[Optional[Path], typer.Option(envvar="OUTFITTER_CACHE", help="Cache folder for exported models.")] = None,
    runner: Annotated[str, typer.Option(help="local (threads here) or ray (a Ray cluster; needs outfitter[ray]).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: a local one, or RAY_ADDRESS).")] = None,
    ray_workers: Annotated[Optional[int], typer.Option(min=1, help="Embedding actors on the Ray cluster (default 2).")] = None,
) -> None:
    """Embed photos into a catalogue store (resumable: run again to finish an interrupted job)."""
    from outfitter.pipeline.indexing import index_items, load_items

    missing: list[str] = []
    items = load_items(source, polyvore=polyvore, version=version, warn=lambda m: (missing.append(m), _warn(m)))
    if items and all(item.category is None for item in items):
        _warn("no categories (no 'category' column, or photos not in sub-folders): similar search works across the "
              "whole catalogue, but --category filters and complementary rows need them")
    report = index_items(items, store, backbone=backbone, weights=weights, batch_size=batch_size,
                         workers=ray_workers if runner == "ray" else workers, dtype=dtype, runtime=runtime,
                         cache_dir=cache / "onnx" if cache else None, runner=runner, ray_address=ray_address)
    skipped = len(report.failed) + len(missing)
    console.print(f"indexed {report.embedded} new items into {store} ({report.already_stored} already there, "
                  f"{skipped} skipped" + (f": {len(missing)} without their photo" if missing else "") + ")")
    for item_id, reason in report.failed[:20]:
        _warn(f"skipped {item_id}: {reason}")
    if len(report.failed) > 20:
        _warn(f"... and {len(report.failed) - 20} more unreadable photos")


@app.command()
@reports_errors
def similar(
    store: StoreOpt,
    image: Annotated[Optional[list[Path]], typer.Option("--image", help="Query photo (repeatable).")] = None,
    item: Annotated[Optional[list[str]], typer.Option("--item", help="Query catalogue item id (repeatable).")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Results per query.")] = 10,
    category: Annotated[Optional[str], typer.Option(help="Only items of this category.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query.")] = False,
    sheet: Annotated[Optional[Path], typer.Option(help="Also write a contact-sheet PNG here (one row per query).")] = None,
    expansion: Annotated[int, typer.Option(min=0, help="Expand each query by its N nearest items before ranking (0: plain cosine).")] = QUERY_EXPANSION,
    weights: WeightsOpt = None,
) -> None:
    """Find the items most similar to photos or catalogue items."""
    from outfitter.errors import InputError
    from outfitter.recommend import Catalog

    if not image and not item:
        raise InputError("give at least one --image PATH or --item ID")
    catalog = Catalog.open(store, weights=weights, expansion=expansion)
    queries = [(str(p), str(p), {"image": p}) for p in image or []]
    queries += [(i, catalog.store.get(i).path, {"item_id": i}) for i in item or []]
    rows = []
    for label, photo, query in queries:
        hits = catalog.similar(**query, k=k, category=category)
        rows.append((Path(label).name, photo, hits))
        if as_json:
            print(json.dumps({"query": label, "hits": [h.to_dict() for h in hits]}))
        else:
            console.print(hits_table(f"similar to {label}", hits))
    if sheet:
        from outfitter.sheets import SheetCell, contact_sheet

        cells = [(label, [SheetCell(photo, ("query", label))] + [SheetCell.from_hit(h) for h in hits])
                 for label, photo, hits in rows]
        written = contact_sheet(cells, sheet, title="outfitter: similar items")
        (err_console if as_json else console).print(f"contact sheet written to {written}")


@app.command("build-index")
@reports_errors
def build_index(
    store: StoreOpt,
    kind: Annotated[str, typer.Option(help="auto (by size), flat, hnsw, ivf (1-bit RaBitQ codes) or ivfpq (PQ codes, smaller).")] = "auto",
) -> None:
    """Build and save an approximate-nearest-neighbour index for a large store (exact search is used below it)."""
    from outfitter.catalog import CatalogStore
    from outfitter.search.select import build_index as build

    console.print(str(build(CatalogStore.open(store), kind)))


@app.command()
@reports_errors
def delete(
    store: StoreOpt,
    item: Annotated[Optional[list[str]], typer.Option("--item", help="Id of an item to remove (repeatable).")] = None,
    ids_file: Annotated[Optional[Path], typer.Option("--ids-file", help="A UTF-8 text file of item ids, one a line.")] = None,
    compact: Annotated[bool, typer.Option(help="Then rewrite the store without the deleted rows (frees their space).")] = False,
) -> None:
    """Remove items from a catalogue store in one commit; a server on it stops showing them from its next request."""
    from outfitter.catalog import CatalogStore
    from outfitter.errors import InputError

    ids = [*(item or []), *(_read_ids(ids_file) if ids_file else [])]
    if not ids:
        raise InputError("give at least one --item ID or an --ids-file")
    opened = CatalogStore.open(store)
    unknown = [i for i in dict.fromkeys(ids) if i not in opened]
    if unknown:
        _warn(f"{len(unknown)} id(s) not in the store, skipped: {', '.join(map(repr, unknown[:5]))}"
              + (" ..." if len(unknown) > 5 else ""))
    removed = opened.delete(ids)
    if compact:
        opened.compact()
    console.print(f"{store}: deleted {removed} item(s), {len(opened)} left" + (", compacted" if compact else ""))


def _read_ids(path: Path) -> list[str]:
    """The non-blank lines of an ids file, or an InputError naming the file and line."""
    from outfitter.errors import InputError

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", path=path, line=path.read_bytes()[: exc.start].count(b"\n") + 1) from None
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


@app.command()
@reports_errors
def check(
    store: StoreOpt,
    repair: Annotated[bool, typer.Option(help="Also remove files no snapshot uses (failed or killed writes).")] = False,
) -> None:
    """Verify every store file against the checksum recorded when it was written; exit 2 naming damaged files."""
    from outfitter.catalog import CatalogStore

    opened = CatalogStore.open(store)
    problems = opened.verify()
    for problem in problems:
        err_console.print(f"[red]damaged:[/red] {problem}", highlight=False)
    for path in opened.unchecked():
        console.print(f"unchecked (no checksum recorded, written by an older outfitter): {path}", highlight=False)
    leftovers = opened.remove_orphans() if repair else opened.orphans()
    for path in leftovers:
        console.print(f"{'removed' if repair else 'orphan (remove with --repair)'}: {path}", highlight=False)
    if problems:
        err_console.print("re-index the items of the damaged segments (delete them, then `outfitter index` again), "
                          "or restore the store from a backup")
        raise typer.Exit(2)
    console.print(f"{store}: {len(opened.segments)} segments, {len(opened)} items, every file as written")


def hits_table(title: str, hits) -> Table:
    """A readable table of hits: the product's name and price when the catalogue has them, the match in words
    for similar items."""
    extras = [(label, keys) for label, keys in (("name", NAME_KEYS), ("price", PRICE_KEYS))
              if any(_attribute(h, keys) for h in hits)]
    matches = any(h.match for h in hits)
    table = Table(title=title, title_justify="left")
    for col in ("#", "id", *(label for label, _ in extras), "category", "score", *(["match"] if matches else [])):
        table.add_column(col, justify="right" if col in ("#", "score", "price") else "left")
    for rank, hit in enumerate(hits, 1):
        table.add_row(str(rank), hit.item_id, *(_attribute(hit, keys) or "-" for _, keys in extras),
                      hit.category or "-", f"{hit.score:.3f}", *([hit.match or "-"] if matches else []))
    return table


NAME_KEYS = ("name", "title", "product_name")
PRICE_KEYS = ("price",)


def _attribute(hit, keys: tuple[str, ...]) -> str:
    """The first of `keys` the hit's item has, as text ('' when none)."""
    return next((str(hit.attributes[k]) for k in keys if hit.attributes.get(k) not in (None, "")), "")


@app.command()
@reports_errors
def tune(
    source: Annotated[Path, typer.Argument(help="Labelled photos: a folder (category = sub-folder) or a CSV with a category column.")],
    out: Annotated[Path, typer.Option(help="Tuned backbone file to write (use it as --backbone FILE).")],
    base: Annotated[str, typer.Option(help="Backbone to start from.")] = "efficientnet_lite0",
    epochs: Annotated[int, typer.Option(min=1)] = 6,
    dim: Annotated[int, typer.Option(min=2, help="Width of the tuned vectors.")] = 256,
    holdout: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of each category held out to measure the gain.")] = 0.1,
    hard_negatives: Annotated[float, typer.Option(min=0.0, help="Weight of a batch-hard triplet term in the loss (0: none; try 1).")] = 0.0,
    workers: Annotated[int, typer.Option(min=0, help="Decoding processes.")] = 1,
    current: Annotated[str, typer.Option(help="The backbone your store uses today, measured on the same held-out photos.")] = DEFAULT_BACKBONE,
) -> None:
    """Fine-tune a backbone on your own categories for better similar-item search; reports the held-out gain
    against the backbone you use today."""
    from outfitter.datasets import read_source
    from outfitter.backbones.tune import TuneSettings, tune_backbone

    report = tune_backbone(read_source(source, on_missing=_warn), out, base=base, workers=workers,
                           settings=TuneSettings(dim=dim, epochs=epochs, holdout=holdout, hard_negatives=hard_negatives),
                           current=current)
    today, after = report.current.get(10, float("nan")), report.after.get(10, float("nan"))
    console.print(f"held-out category precision@10: {current} (today) {today:.3f} -> tuned {after:.3f}; "
                  f"tuned backbone written to {report.path}")
    if report.helped:
        console.print(f"index with it: outfitter index {source} --store STORE --backbone {report.path}")
    else:
        _warn(f"tuning did not beat {current} on the held-out photos: keep it (try more photos per category, or more "
              "--epochs)")


ModelOpt = Annotated[Optional[Path], typer.Option(
    "--model", help="Compatibility model checkpoint from `outfitter train` (default: the shipped one).")]
SlotsOpt = Annotated[Optional[Path], typer.Option(
    "--slots", help="JSON or CSV file mapping your categories to outfit slots (default: by name, then by photo).")]
ImagesOpt = Annotated[Optional[list[Path]], typer.Option("--image", help="Photo of an outfit item (repeatable).")]
ItemsOpt = Annotated[Optional[list[str]], typer.Option("--item", help="Catalogue item id of an outfit item (repeatable).")]


@app.command()
@reports_errors
def train(
    polyvore: Annotated[Path, typer.Option(help="Polyvore Outfits root (polyvore_outfits/).")],
    out: Annotated[Path, typer.Option(help="Checkpoint file to write (a training-curve PNG goes beside it).")],
    model: Annotated[str, typer.Option(help="Model kind: garment (the default's), mlp (CompatibilityMLP) or polania (PolaniaNet).")] = "mlp",
    version: Annotated[str, typer.Option(help="nondisjoint or disjoint.")] = "nondisjoint",
    backbone: BackboneOpt = "efficientnet_lite0",
    weights: WeightsOpt = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Default: the model's original setting.")] = None,
    max_outfits: Annotated[Optional[int], typer.Option(min=2, help="Use only the first N train outfits.")] = None,
    negatives: Annotated[Optional[str], typer.Option(help="random or same-category (default: the better one).")] = None,
    image_size: Annotated[Optional[int], typer.Option(min=32, help="Input size (default: the backbone's).")] = None,
    valid_limit: Annotated[Optional[int], typer.Option(min=2, help="Score at most N valid outfits per epoch.")] = None,
    cache: Annotated[Path, typer.Option(help="Where item features are cached.")] = Path(".outfitter-cache"),
    workers: Annotated[int, typer.Option(min=0, help="Decoding processes.")] = 1,
) -> None:
    """Train a compatibility model on Polyvore Outfits, validating each epoch and keeping the best checkpoint."""
    from outfitter.compat import train as train_model
    from outfitter.datasets import PolyvoreOutfits

    options = {"negatives": negatives} if negatives else {}
    result = train_model(PolyvoreOutfits(polyvore, version, on_missing=_warn), model=model, backbone=backbone, out=out,
                         epochs=epochs, max_outfits=max_outfits, cache_dir=cache, weights=weights,
                         image_size=image_size, valid_limit=valid_limit, num_workers=workers, **options)
    best = result.best
    console.print(f"best epoch {result.best_epoch}: valid AUC {best.get('valid_auc', float('nan')):.3f}; "
                  f"checkpoint {result.checkpoint}, curves {result.curves}")


@app.command()
@reports_errors
def evaluate(
    polyvore: Annotated[Path, typer.Option(help="Polyvore Outfits root.")],
    model: ModelOpt = None,
    version: Annotated[str, typer.Option(help="nondisjoint or disjoint.")] = "nondisjoint",
    split: Annotated[str, typer.Option(help="train, valid or test.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line of metrics.")] = False,
    roc: Annotated[Optional[Path], typer.Option(help="ROC-curve PNG (default: beside the model; for the shipped one, here).")] = None,
    max_recall_targets: Annotated[Optional[int], typer.Option(min=1, help="Sample N targets for Recall@K (default: all).")] = None,
    cache: Annotated[Path, typer.Option(help="Where item features are cached.")] = Path(".outfitter-cache"),
    weights: WeightsOpt = None,
    workers: Annotated[int, typer.Option(min=0, help="Decoding processes.")] = 1,
) -> None:
    """Compatibility AUC, FITB accuracy and complementary Recall@10/30/50 of a model (default: the shipped one)."""
    from outfitter.compat import evaluate as evaluate_model
    from outfitter.compat.checkpoint import shipped_model_path
    from outfitter.datasets import PolyvoreOutfits

    roc = roc or (model.with_name(f"{model.stem}-roc-{split}.png") if model else Path(f"default-roc-{split}.png"))
    model = model or shipped_model_path()
    metrics = evaluate_model(PolyvoreOutfits(polyvore, version, on_missing=_warn), split, model, cache, roc_path=roc,
                             max_recall_targets=max_recall_targets, weights=weights, num_workers=workers,
                             progress=not as_json)
    if as_json:
        print(json.dumps(metrics))
        return
    table = Table(title=f"{model.name} on {version}/{split}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(f"ROC curve written to {roc}")


@app.command()
@reports_errors
def complete(
    store: StoreOpt,
    image: ImagesOpt = None,
    item: ItemsOpt = None,
    model: ModelOpt = None,
    category: Annotated[Optional[list[str]], typer.Option("--category", help="Target category (repeatable; default: one row per outfit slot that goes with the query).")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Results per row.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    sheet: Annotated[Optional[Path], typer.Option(help="Also write a contact-sheet PNG here.")] = None,
    slots: SlotsOpt = None,
    weights: WeightsOpt = None,
) -> None:
    """Recommend items that complete an outfit: one row per outfit slot that goes with the query."""
    from outfitter.recommend import Catalog

    catalog = Catalog.open(store, model=model, weights=weights, slots=slots)
    query_slots = catalog.query_slots(item or [], image or [])
    found = catalog.complementary(item_ids=item or [], images=image or [], categories=category, k=k,
                                  query_slots=query_slots)
    if as_json:
        print(json.dumps({"query": [*(item or []), *map(str, image or [])], "query_slots": query_slots,
                          "categories": {c: [h.to_dict() for h in hits] for c, hits in found.items()}}))
    else:
        console.print(f"query slots: {', '.join(s or 'unknown' for s in query_slots)}")
        for row, hits in found.items():
            console.print(hits_table(f"goes with the query: {row}", hits))
    if sheet:
        from outfitter.sheets import SheetCell, contact_sheet

        query = [SheetCell(catalog.store.get(i).path, (i, "query")) for i in item or []]
        query += [SheetCell(p, (p.name, "query")) for p in image or []]
        rows = [("query", query)] + [(c, [SheetCell.from_hit(h) for h in hits]) for c, hits in found.items()]
        console.print(f"contact sheet written to {contact_sheet(rows, sheet, title='outfitter: complete the outfit')}")


@app.command()
@reports_errors
def look(
    store: StoreOpt,
    image: Annotated[Path, typer.Option("--image", help="A photo of a person (or of one garment).")],
    k: Annotated[int, typer.Option("--k", min=1, help="Similar items per garment found.")] = 10,
    complements_k: Annotated[int, typer.Option("--complements-k", min=1, help="Items per completing slot.")] = 5,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    sheet: Annotated[Optional[Path], typer.Option(help="Also write a contact-sheet PNG here (the photo with the "
                                                        "garments outlined, then a row per garment and slot).")] = None,
    slots: SlotsOpt = None,
    weights: WeightsOpt = None,
) -> None:
    """Shop the look: every garment in a photo of a person, similar items for each, and what completes it."""
    from outfitter.recommend import Catalog

    catalog = Catalog.open(store, model=model, weights=weights, slots=slots)
    found = catalog.shop_the_look(image, k=k, complements_k=complements_k)
    if as_json:
        print(json.dumps(found.to_dict()))
    else:
        kind = "a product shot: one garment" if found.product_shot else f"{len(found.garments)} garments found"
        console.print(f"{image.name}: {kind}")
        for garment in found.garments:
            title = f"{garment.category or 'garment'} ({garment.confidence:.0%}) at {list(garment.box)}"
            none = garment.none_similar()
            console.print(f"{title}: {none}" if none else hits_table(f"{title}: similar", garment.similar))
        for slot, hits in found.complementary.items():
            console.print(hits_table(f"completes the look: {slot}", hits))
    if sheet:
        from outfitter.sheets import look_sheet

        written = look_sheet(image, found, sheet)
        (err_console if as_json else console).print(f"contact sheet written to {written}")


@app.command("score-outfit")
@reports_errors
def score_outfit(
    store: StoreOpt,
    model: ModelOpt = None,
    image: ImagesOpt = None,
    item: ItemsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    slots: SlotsOpt = None,
    weights: WeightsOpt = None,
) -> None:
    """Score how well items go together: a verdict, the mean pairwise compatibility and every pair's score."""
    from outfitter.recommend import Catalog

    catalog = Catalog.open(store, model=model, weights=weights, slots=slots)
    result = catalog.score_outfit(item_ids=item or [], images=image or [])
    if as_json:
        print(json.dumps(result.to_dict()))
        return
    verdict = f"[bold]{result.verdict}[/bold] " if result.verdict else ""
    console.print(f"outfit: {verdict}(score {result.score:.3f})")
    for a, b in result.clashes:
        console.print(f"  [red]{a} and {b} cannot be worn together (same kind of item, or never worn together)[/red]")
    for a, b, p in result.pairs:
        console.print(f"  {a} + {b}: {p:.3f}")


HostOpt = Annotated[str, typer.Option(help="Address to bind (loopback unless you mean to expose it).")]
PortOpt = Annotated[int, typer.Option(min=1, max=65535)]
ApiKeyOpt = Annotated[Optional[str], typer.Option(envvar="OUTFITTER_API_KEY", help="Require this key on API calls.")]


@app.command()
@reports_errors
def serve(
    store: StoreOpt,
    model: ModelOpt = None,
    slots: SlotsOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    api_key: ApiKeyOpt = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.1, help="Largest accepted upload.")] = 10.0,
    allowed_hosts: Annotated[Optional[list[str]], typer.Option(
        "--allowed-hosts", help="Host names the server answers to (repeatable; default: loopback names and --host).")] = None,
    weights: WeightsOpt = None,
) -> None:
    """Serve the REST API (docs at /docs) and the web page (at /) for a catalogue store."""
    from outfitter.service import create_app
    from outfitter.service import serve as run_server
    from outfitter.service.security import checked_key, default_allowed_hosts

    api_key = checked_key(os.environ.get("OUTFITTER_API_KEY") if api_key is None else api_key)  # typer drops ""
    _check_port(host, port)
    hosts = default_allowed_hosts(host, allowed_hosts)
    if hosts == ["*"]:
        _warn(f"serving on {host or 'every address'} for any Host name: pass --allowed-hosts NAME to limit it")
    app_ = create_app(store, model=model, slots=slots, api_key=api_key, allowed_hosts=hosts,
                      max_upload_bytes=int(max_upload_mb * 1024 * 1024), weights=weights)
    console.print(f"serving {store} on http://{host}:{port}/ (API docs at /docs)")
    run_server(app_, host=host, port=port)


@app.command()
@reports_errors
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo store and pictures go.")] = Path("outfitter-demo"),
    k: Annotated[int, typer.Option("--k", min=1)] = 5,
    serve_after: Annotated[bool, typer.Option("--serve", help="Then serve the demo's web page and API.")] = False,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    api_key: ApiKeyOpt = None,
) -> None:
    """Index the shipped demo catalogue offline, find similar and complementary items, write contact sheets; with
    --serve, a finished demo in --out is served at once instead of being run again."""
    from outfitter.demo import demo_done, run_demo

    if serve_after:
        _check_port(host, port)
    if serve_after and demo_done(out):
        console.print(f"serving the demo made earlier in {out} (run `outfitter demo` without --serve to redo it)")
    else:
        run_demo(out, k=k, console=console)
    if serve_after:
        serve(store=out / "store", host=host, port=port, api_key=api_key)


def _check_port(host: str, port: int) -> None:
    """Refuse a port another program holds before loading anything (uvicorn would only fail after start-up)."""
    import socket

    from outfitter.errors import InputError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a closed server's port is free
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InputError(f"cannot listen on {host}:{port} ({error.strerror}); pick another with --port",
                             field="port") from None


def _warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(app())
