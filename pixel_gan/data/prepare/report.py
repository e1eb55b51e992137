"""``report.md`` and ``contact_sheet.png``: what went in, what was left out and why, at a glance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from PIL import Image, ImageDraw

from pixel_gan.data.images import display_path
from pixel_gan.data.prepare.dedup import NEAR_DUPLICATE_BITS, RELATED_BITS
from pixel_gan.data.prepare.grid import MAX_CELL, MIN_NATIVE_SIDE, MIN_PURITY
from pixel_gan.data.prepare.pipeline import DOMAINS, THUMB, Domain, Settings
from pixel_gan.data.prepare.sources import ALPHA_RULE

CONTACT_SHEET = "contact_sheet.png"
SHEET_COLUMNS = 12
COLOR_BINS = (2, 4, 8, 16, 32, 64, 128, 256)


def _bar(count: int, most: int, width: int = 30) -> str:
    return "#" * max(1, round(width * count / most)) if count else ""


def histogram_table(title: str, counts: Sequence[tuple[str, int]]) -> list[str]:
    """A markdown table with a text bar per row."""
    most = max((c for _, c in counts), default=0)
    lines = [f"| {title} | images | |", "| ---: | ---: | :--- |"]
    lines += [f"| {label} | {count} | `{_bar(count, most)}` |" for label, count in counts]
    return lines


def color_bins(colors: Sequence[int]) -> list[tuple[str, int]]:
    """Colour counts in power-of-two bins (1-2, 3-4, 5-8, ...), the last one open-ended."""
    rows, low = [], 1
    for high in COLOR_BINS:
        rows.append((f"{low}-{high}", sum(low <= c <= high for c in colors)))
        low = high + 1
    rows.append((f">{COLOR_BINS[-1]}", sum(c > COLOR_BINS[-1] for c in colors)))
    return rows


def _counts_table(domains: Sequence[Domain]) -> list[str]:
    lines = [
        "| domain | files | unreadable | rejected | duplicates | kept | train | test |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in domains:
        dups = d.count("duplicate", "near-duplicate")
        unreadable = d.count("unreadable")
        rejected = len(d.rejected) - dups - unreadable
        test = sum(k.test for k in d.kept)
        lines.append(
            f"| {d.label} ({DOMAINS[d.label]}) | {d.found} | {unreadable} | {rejected} | {dups} | {len(d.kept)} "
            f"| {len(d.kept) - test} | {test} |"
        )
    return lines


def _ignored(domains: Sequence[Domain]) -> list[str]:
    """Entries not read at all (only files directly inside each folder, with an image extension, are)."""
    lines = []
    for d in domains:
        if d.ignored:
            shown = ", ".join(f"`{name}`" for name in d.ignored[:10]) + (" ..." if len(d.ignored) > 10 else "")
            lines += [f"Not read in {DOMAINS[d.label]} (not an image file directly in the folder): {shown}", ""]
    return lines


def _rules(settings: Settings) -> list[str]:
    return [
        f"- Decoding: EXIF orientation applied, first frame of animations, {ALPHA_RULE}.",
        f"- Duplicates: identical pixels, or a 64-bit DCT pHash within {NEAR_DUPLICATE_BITS} bits; "
        "the largest copy is kept.",
        f"- Split: seed {settings.seed}, test fraction {settings.test_fraction}; images within {RELATED_BITS} "
        "pHash bits of each other always land on the same side.",
        f"- Pixel art: the largest integer cell (2..{MAX_CELL} px, any offset) on which colour edges line up "
        f"and {MIN_PURITY:.0%} of pixels equal their cell's colour; reduced to one pixel per cell (the cell's "
        f"most frequent colour), again until no such grid is left. No grid: kept at cell 1 only with at most "
        f"{settings.max_colors} colours and no sign of non-integer scaling; native images under "
        f"{MIN_NATIVE_SIDE} px a side are left out.",
    ]


def render_report(settings: Settings, domains: Sequence[Domain]) -> str:
    """The whole ``report.md`` text."""
    photos, art = domains
    lines = [
        "# Dataset report",
        "",
        f"Made by `pixel-gan data prepare` from photos `{display_path(settings.photos)}` and pixel art "
        f"`{display_path(settings.pixel_art)}`.",
        "",
        *_counts_table(domains),
        "",
        *_ignored(domains),
        "## Rules",
        "",
        *_rules(settings),
        "",
        "## Pixel art: cell sizes (upscale factor found)",
        "",
        *histogram_table("cell (px)", sorted(Counter(str(k.cell) for k in art.kept).items(), key=lambda r: int(r[0]))),
        "",
        "## Pixel art: colours per image",
        "",
        *histogram_table("colours", color_bins([k.colors for k in art.kept])),
        "",
        "## Left out",
        "",
        *_rejects_table(domains),
        "",
        "## Contact sheet",
        "",
        "Kept photos, kept pixel art (native grid, scaled up by nearest neighbour) and left-out images.",
        "",
        f"![contact sheet]({CONTACT_SHEET})",
        "",
    ]
    return "\n".join(lines)


def _rejects_table(domains: Sequence[Domain]) -> list[str]:
    rows = [(d.label, r) for d in domains for r in d.rejected]
    if not rows:
        return ["Nothing."]
    lines = ["| domain | file | code | reason |", "| --- | --- | --- | --- |"]
    for label, r in rows:
        name = display_path(r.source.name).replace("|", "\\|")
        lines.append(f"| {label} | `{name}` | {r.code} | {r.reason.replace('|', '/')} |")
    return lines


def contact_sheet(domains: Sequence[Domain]) -> Image.Image:
    """Up to SHEET_COLUMNS thumbnails per row: kept photos, kept pixel art, left-out images."""
    photos, art = domains
    rows = [
        ("photos", [k.thumb for k in photos.kept[:SHEET_COLUMNS]]),
        ("pixel art (native grid)", [k.thumb for k in art.kept[:SHEET_COLUMNS]]),
        ("left out", [r.thumb for d in domains for r in d.rejected if r.thumb is not None][:SHEET_COLUMNS]),
    ]
    label_h, pad = 14, 4
    sheet = Image.new("RGB", (SHEET_COLUMNS * (THUMB + pad) + pad, len(rows) * (THUMB + label_h + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (title, thumbs) in enumerate(rows):
        top = r * (THUMB + label_h + pad)
        draw.text((pad, top + 1), title, fill="black")
        for c, thumb in enumerate(thumbs):
            sheet.paste(thumb, (pad + c * (THUMB + pad), top + label_h))
    return sheet
