"""The demo end to end on a handful of the shipped photos: index, query, table, contact sheet."""

from __future__ import annotations

import csv
import io

from PIL import Image
from rich.console import Console

from outfitter.demo import demo_data, demo_done, run_demo


def small_demo_data(tmp_path, per_class: int = 6):
    """A copy of the shipped manifests restricted to a few photos per class, pointing at the shipped files."""
    data = tmp_path / "data"
    data.mkdir()
    for name, n in (("catalog.csv", per_class), ("queries.csv", 1)):
        rows = list(csv.DictReader(open(demo_data() / name)))
        keep = [r for c in sorted({r["category"] for r in rows}) for r in [x for x in rows if x["category"] == c][:n]]
        with open(data / name, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({**r, "path": str(demo_data() / r["path"])} for r in keep[: 3 * n if n == 1 else None])
    return data


def test_demo_indexes_queries_and_draws(tmp_path):
    out = io.StringIO()
    data = small_demo_data(tmp_path)
    pictures = run_demo(tmp_path / "demo", k=3, data=data, console=Console(file=out, width=120))
    text = out.getvalue()
    assert "query:" in text and "category precision@3" in text and "contact sheet written" in text
    assert "what goes with it" in text and "looks like" in text and "outfit score" in text
    assert "as an outfit: clashes" in text
    for picture in pictures:
        sheet = Image.open(picture)
        assert sheet.format == "PNG" and sheet.width > 300
    assert demo_done(tmp_path / "demo", data)  # `demo --serve` serves it without a re-run
    pictures[0].unlink()
    assert not demo_done(tmp_path / "demo", data) and not demo_done(tmp_path / "elsewhere", data)


def test_shipped_demo_catalogue_covers_every_class_with_credit():
    rows = list(csv.DictReader(open(demo_data() / "catalog.csv")))
    assert 200 <= len(rows) <= 300
    assert len({r["category"] for r in rows}) == 10
    assert all((demo_data() / r["path"]).is_file() for r in rows)
    assert "CC0" in (demo_data() / "README.md").read_text()
