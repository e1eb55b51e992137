"""The report's pictures: the sample grid (photo, then each row's output, nearest-upscaled) and the
training curves of every run, written as PNGs beside report.md."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from pixel_gan.evaluation.rows import HISTORY_KEYS, Report, is_number
from pixel_gan.safe_io import png_writer, write_file

# --------------------------------------------------------------------------- images


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x"


def upscale_for_display(image: Image.Image, display_px: int) -> Image.Image:
    """Nearest-upscale by a whole factor so the longer side reaches about ``display_px``: pixels stay sharp."""
    from pixel_gan.inference.images import upscaled

    return upscaled(image, max(1, round(display_px / max(image.size))))


def fit_for_display(image: Image.Image, display_px: int) -> Image.Image:
    """A photo scaled (LANCZOS) so its longer side is ``display_px``."""
    scale = display_px / max(image.size)
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )


def comparison_grid(lines: Sequence[Sequence[Image.Image]], display_px: int = 128, pad: int = 4) -> Image.Image:
    """One image, one line per input: the photo (scaled) then pixel images (nearest-upscaled), on white.

    E.g. input | translation | ground truth for a run's ``samples/``.
    """
    cells = [
        [fit_for_display(line[0], display_px), *(upscale_for_display(im, display_px) for im in line[1:])]
        for line in lines
    ]
    width = max(sum(c.width for c in line) + pad * (len(line) + 1) for line in cells)
    height = sum(max(c.height for c in line) for line in cells) + pad * (len(cells) + 1)
    canvas = Image.new("RGB", (width, height), "white")
    y = pad
    for line in cells:
        x = pad
        for image in line:
            canvas.paste(image.convert("RGB"), (x, y))
            x += image.width + pad
        y += max(c.height for c in line) + pad
    return canvas


def save_grid(report: Report, out_dir: Path, display_px: int) -> list[list[str | None]]:
    """Write the grid PNGs to ``out_dir/images``; returns relative paths, [input][0 = photo, 1.. = rows]."""
    folder = out_dir / "images"
    folder.mkdir(parents=True, exist_ok=True)
    grid: list[list[str | None]] = []
    for i, (photo, name) in enumerate(zip(report.inputs, report.input_names, strict=True)):
        line: list[str | None] = []
        rel = f"images/{i:02d}-{slug(name)}-input.png"
        write_file(out_dir / rel, png_writer(fit_for_display(photo, display_px)))
        line.append(rel)
        for j, row in enumerate(report.grid_rows):
            image = row.outputs[i] if i < len(row.outputs) else None
            if image is None:
                line.append(None)
                continue
            rel = f"images/{i:02d}-{slug(name)}-{j:02d}-{slug(row.name)}.png"
            write_file(out_dir / rel, png_writer(upscale_for_display(image, display_px)))
            line.append(rel)
        grid.append(line)
    return grid


# --------------------------------------------------------------------------- curves


def history_metrics(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Metric keys present in any run's history, in first-seen order."""
    keys: dict[str, None] = {}
    for rows in histories.values():
        for r in rows:
            for k, v in r.items():
                if k not in HISTORY_KEYS and is_number(v):
                    keys.setdefault(k, None)
    return list(keys)


def plot_curves(
    histories: Mapping[str, Sequence[Mapping[str, Any]]], out_dir: Path, directions: Mapping[str, str]
) -> list[tuple[str, str]]:
    """One PNG per metric (all runs in one plot, x = training step); returns [(metric, relative path)]."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder = out_dir / "curves"
    written = []
    for metric in history_metrics(histories):
        fig = Figure(figsize=(5.6, 3.4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for name, rows in histories.items():
            points = sorted((r["step"], float(r[metric])) for r in rows if is_number(r.get(metric)) and "step" in r)
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, label=name)
        short = metric.split("/", 1)[-1]
        arrow = {"lower": " (lower is better)", "higher": " (higher is better)"}.get(directions.get(short, ""), "")
        ax.set_title(f"{metric}{arrow}", fontsize=10)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        folder.mkdir(parents=True, exist_ok=True)
        rel = f"curves/{slug(metric)}.png"
        write_file(out_dir / rel, partial(fig.savefig, format="png"))
        written.append((metric, rel))
    return written
