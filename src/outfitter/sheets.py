"""Contact sheets: one PNG showing a query photo and rows of results, for the CLI demo and for eyeballing quality."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from outfitter.utils.atomic import write_atomic
from outfitter.errors import ImageError
from outfitter.images import load_image, resize, to_rgb
from outfitter.types import Hit

if TYPE_CHECKING:
    from outfitter.look import Look, LookGarment

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_PAD = 8
_CAPTION_GAP = 4
_LABEL_WIDTH = 120
_BACKGROUND = (255, 255, 255)
_TEXT = (30, 30, 30)
_PLACEHOLDER = (200, 200, 200)
_OUTLINES = ((230, 25, 75), (0, 130, 200), (60, 180, 75), (245, 130, 48), (145, 30, 180), (70, 240, 240),
             (240, 50, 230), (128, 128, 0))


@dataclass(frozen=True)
class SheetCell:
    """One thumbnail: a photo (path or PIL image; None or unreadable shows a grey placeholder) and caption lines."""

    image: str | Path | Image.Image | None
    caption: Sequence[str] = ()

    @classmethod
    def from_hit(cls, hit: Hit) -> SheetCell:
        """A cell showing a search hit's photo captioned with its id (and product name), category and score (and
        match in words)."""
        name = next((str(hit.attributes[k]) for k in ("name", "title") if hit.attributes.get(k)), "")
        score = f"{hit.score:.3f}" + (f" {hit.match}" if hit.match else "")
        lines = (hit.item_id, name, hit.category or "", score)
        return cls(hit.path, tuple(line for line in lines if line))


@dataclass(frozen=True)
class _Layout:
    """Sizes shared by every row of one sheet."""

    thumb: int
    caption_font: Font
    label_font: Font
    line_height: int
    caption_lines: int

    @property
    def row_height(self) -> int:
        """Height of one row: the thumbnail, its caption lines and the gap below."""
        return self.thumb + _CAPTION_GAP + self.caption_lines * self.line_height + _PAD


def contact_sheet(
    rows: Sequence[tuple[str, Sequence[SheetCell]]],
    out_path: str | Path,
    *,
    query: SheetCell | None = None,
    thumb: int = 160,
    title: str | None = None,
) -> Path:
    """Draw the query (if any) on the first row, then one labelled row of captioned thumbnails per entry; write a PNG."""
    all_rows = [("query", [query])] if query is not None else []
    all_rows += [(label, list(cells)) for label, cells in rows]
    layout = _layout(all_rows, thumb)
    return _save_atomic(_render(all_rows, layout, title), Path(out_path))


def look_sheet(photo: str | Path, look: "Look", out_path: str | Path, *, thumb: int = 160) -> Path:
    """Shop the look on one PNG: the photo with its garments outlined, a row per garment (its crop, then its
    similar items), then a row per completing slot."""
    query = SheetCell(outlined(load_image(photo), look), (Path(photo).name, "query"))
    rows = [_garment_row(g) for g in look.garments]
    rows += [(f"with: {slot}", [SheetCell.from_hit(h) for h in hits]) for slot, hits in look.complementary.items()]
    return contact_sheet(rows, out_path, query=query, thumb=thumb, title="outfitter: shop the look")


def _garment_row(garment: "LookGarment") -> tuple[str, list[SheetCell]]:
    """A found garment's row: its crop (captioned with why nothing is like it, when so), then its similar items."""
    found = SheetCell(garment.crop, ("found", *textwrap.wrap(garment.none_similar(), 20)))
    label = f"{garment.category or 'garment'} {garment.confidence:.0%}"
    return label, [found, *map(SheetCell.from_hit, garment.similar)]


def outlined(photo: Image.Image, look: "Look") -> Image.Image:
    """The photo with each found garment's box drawn and labelled (nothing drawn for a product shot)."""
    out = to_rgb(photo).copy()
    if look.product_shot:
        return out
    draw = ImageDraw.Draw(out)
    scale = out.width / look.size[0]
    side = max(out.size)  # lines and labels sized to stay readable on a thumbnail of the photo
    width = max(3, side // 80)
    font = _font(max(12, side // 14))
    for n, garment in enumerate(look.garments):
        colour = _OUTLINES[n % len(_OUTLINES)]
        box = [round(v * scale) for v in garment.box]
        draw.rectangle(box, outline=colour, width=width)
        draw.text((box[0] + width + 2, box[1] + width), garment.category or "garment", fill=colour, font=font,
                  stroke_width=2, stroke_fill=(255, 255, 255))
    return out


def _layout(rows: list[tuple[str, list[SheetCell]]], thumb: int) -> _Layout:
    """Pick fonts scaled to the thumbnail size and room for the longest caption."""
    caption_font = _font(max(10, thumb // 12))
    bbox = caption_font.getbbox("Ag")
    lines = max((len(cell.caption) for _, cells in rows for cell in cells), default=0)
    return _Layout(thumb, caption_font, _font(max(12, thumb // 10)), int(bbox[3]) + 3, lines)


def _font(size: int) -> Font:
    """Pillow's bundled font at a size (Pillow >= 10.1 with FreeType), else its fixed bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):
        return ImageFont.load_default()


def _render(rows: list[tuple[str, list[SheetCell]]], layout: _Layout, title: str | None) -> Image.Image:
    """Lay out the title and the rows on a white canvas."""
    columns = max((len(cells) for _, cells in rows), default=1) or 1
    width = _PAD + _LABEL_WIDTH + columns * (layout.thumb + _PAD)
    title_height = layout.line_height * 2 if title else 0
    sheet = Image.new("RGB", (width, _PAD + title_height + len(rows) * layout.row_height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((_PAD, _PAD), _fit(draw, title, layout.label_font, width - 2 * _PAD), _TEXT, layout.label_font)
    for i, (label, cells) in enumerate(rows):
        _draw_row(sheet, draw, _PAD + title_height + i * layout.row_height, label, cells, layout)
    return sheet


def _draw_row(
    sheet: Image.Image, draw: ImageDraw.ImageDraw, top: int, label: str, cells: list[SheetCell], layout: _Layout
) -> None:
    """Draw a row label, then each cell's thumbnail with its caption lines under it."""
    label_y = top + (layout.thumb - layout.line_height) // 2
    draw.text((_PAD, label_y), _fit(draw, label, layout.label_font, _LABEL_WIDTH - _PAD), _TEXT, layout.label_font)
    for j, cell in enumerate(cells):
        left = _PAD + _LABEL_WIDTH + j * (layout.thumb + _PAD)
        sheet.paste(_thumbnail(cell, layout), (left, top))
        for k, line in enumerate(cell.caption):
            y = top + layout.thumb + _CAPTION_GAP + k * layout.line_height
            draw.text((left, y), _fit(draw, str(line), layout.caption_font, layout.thumb), _TEXT, layout.caption_font)


def _thumbnail(cell: SheetCell, layout: _Layout) -> Image.Image:
    """The cell's photo letterboxed to thumb x thumb, or a grey placeholder when it is missing or unreadable."""
    if cell.image is None:
        return _placeholder(layout)
    try:
        img = to_rgb(cell.image) if isinstance(cell.image, Image.Image) else load_image(cell.image)
    except ImageError:
        return _placeholder(layout)
    return resize(img, layout.thumb, "pad")


def _placeholder(layout: _Layout) -> Image.Image:
    """A grey square saying there is no image, so one bad photo never breaks a sheet."""
    tile = Image.new("RGB", (layout.thumb, layout.thumb), _PLACEHOLDER)
    draw = ImageDraw.Draw(tile)
    text = "no image"
    x = (layout.thumb - draw.textlength(text, font=layout.caption_font)) / 2
    draw.text((x, (layout.thumb - layout.line_height) / 2), text, _TEXT, layout.caption_font)
    return tile


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> str:
    """Shorten text with '...' until it fits width pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _save_atomic(sheet: Image.Image, path: Path) -> Path:
    """Write the PNG to a temporary file beside path, then rename it, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda fh: sheet.save(fh, format="PNG"))
    return path
