"""Render an evaluation as ``report.md`` + ``report.html`` with images and plots beside them.

Both files reference the PNGs by relative path, so a report folder can be moved, zipped or served
as it is. Rendering takes a finished :class:`Report` and computes nothing, which keeps it testable
without models.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from pixel_gan.safe_io import png_writer, write_file, write_text

Value = float | str

HISTORY_KEYS = ("step", "epoch", "wall_time", "elapsed_s")
ARROWS = {"lower": "↓", "higher": "↑", "info": ""}
GT_TITLE = "Ground truth (paired test split)"


@dataclass
class Row:
    """One line of the table and one column of the image grid: a trained run or a baseline."""

    name: str
    kind: str  # "run", "baseline", "untrained" (a run at step 0), "finished" (a run after the CLI's grid and
    # palette step) or "target" (the ground truth, grid only)
    values: dict[str, Value] = field(default_factory=dict)
    outputs: list[Image.Image | None] = field(default_factory=list)  # one per grid input
    status: str = ""  # why a row has no values/images (e.g. "not installed")
    grid_note: str = ""  # why a row has metrics but no images in the grid
    details: dict[str, str] = field(default_factory=dict)  # path, resolution, step, data root ...
    config_yaml: str = ""


@dataclass
class Report:
    title: str
    rows: list[Row]
    columns: list[str]
    directions: Mapping[str, str]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    inputs: list[Image.Image] = field(default_factory=list)  # grid rows: the test photos
    input_names: list[str] = field(default_factory=list)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # run name → metrics.jsonl rows
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)
    gt_rows: list[Row] = field(default_factory=list)  # the ground-truth table (a paired test split only)
    gt_columns: list[str] = field(default_factory=list)
    ground_truth: list[Image.Image] = field(default_factory=list)  # targets of the grid inputs

    @property
    def grid_rows(self) -> list[Row]:
        """Columns of the sample grid: the ground-truth table's rows in order (step 0, trained, finished,
        baselines), the other rows, then the ground truth."""
        rows = list(self.gt_rows) + [r for r in self.rows if all(r is not g for g in self.gt_rows)]
        if self.ground_truth:
            rows.append(Row("ground truth", "target", outputs=list(self.ground_truth)))
        return rows


# --------------------------------------------------------------------------- table


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def best_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], directions: Mapping[str, str], rel_tol: float = 1e-9
) -> dict[str, set[int]]:
    """Per column, the indices of the rows holding the best numeric value (ties all win).

    Direction "lower"/"higher" from ``directions``; "info" columns and columns without any number
    have no best. Text cells ("unavailable (...)") never win.
    """
    best: dict[str, set[int]] = {}
    for column in columns:
        direction = directions.get(column, "info")
        numbers = {i: float(r[column]) for i, r in enumerate(rows) if is_number(r.get(column))}
        if direction not in ("lower", "higher") or not numbers:
            best[column] = set()
            continue
        target = min(numbers.values()) if direction == "lower" else max(numbers.values())
        best[column] = {i for i, v in numbers.items() if math.isclose(v, target, rel_tol=rel_tol, abs_tol=1e-12)}
    return best


def format_value(values: Mapping[str, Any], column: str) -> str:
    """A cell's text: 4 significant digits; KID with its std; text cells as they are; missing '—'."""
    value = values.get(column)
    if value is None:
        return "—"
    if not is_number(value):
        return str(value)
    text = f"{float(value):.4g}"
    if column == "kid" and is_number(values.get("kid_std")):
        text += f" ± {float(values['kid_std']):.2g}"
    return text


def _header(column: str, directions: Mapping[str, str]) -> str:
    arrow = ARROWS.get(directions.get(column, "info"), "")
    return f"{column} {arrow}".strip()


def _row_values(row: Row, columns: Sequence[str]) -> dict[str, Any]:
    return {c: row.status for c in columns} if row.status else row.values


def markdown_table(rows: Sequence[Row], columns: Sequence[str], directions: Mapping[str, str]) -> str:
    """GitHub-flavoured table, best value per column in bold."""
    values = [_row_values(r, columns) for r in rows]
    best = best_rows(values, columns, directions)
    lines = [
        "| " + " | ".join(["row", *(_header(c, directions) for c in columns)]) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for i, (row, vals) in enumerate(zip(rows, values, strict=True)):
        name = _md(row.name) + (f" *({row.kind})*" if row.kind in ("baseline", "untrained") else "")
        cells = []
        for c in columns:
            text = _md(format_value(vals, c))
            cells.append(f"**{text}**" if i in best[c] else text)
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def html_table(
    rows: Sequence[Row], columns: Sequence[str], directions: Mapping[str, str], descriptions: Mapping[str, str]
) -> str:
    values = [_row_values(r, columns) for r in rows]
    best = best_rows(values, columns, directions)
    head = "".join(
        f'<th title="{html.escape(descriptions.get(c, ""))}">{html.escape(_header(c, directions))}</th>'
        for c in columns
    )
    body = []
    for i, (row, vals) in enumerate(zip(rows, values, strict=True)):
        cells = []
        for c in columns:
            text = html.escape(format_value(vals, c))
            numeric = is_number(vals.get(c))
            cls = ' class="num"' if numeric else ' class="text"'
            cells.append(f"<td{cls}><strong>{text}</strong></td>" if i in best[c] else f"<td{cls}>{text}</td>")
        kind = f' <span class="tag">{row.kind}</span>' if row.kind in ("baseline", "untrained") else ""
        body.append(f'<tr class="{row.kind}"><th scope="row">{html.escape(row.name)}{kind}</th>{"".join(cells)}</tr>')
    return f'<table class="metrics"><thead><tr><th>row</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _missing(row: Row) -> str:
    """Text of a grid cell without an image."""
    return row.status or row.grid_note or "—"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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


# --------------------------------------------------------------------------- documents

CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; font-size: 0.9em; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { color: #888; font-size: 0.8em; max-width: 14em; }
tbody th { text-align: left; white-space: nowrap; }
tr.baseline th { font-style: italic; }
.tag { font-size: 0.75em; color: #666; border: 1px solid #aaa; border-radius: 3px; padding: 0 3px; }
table.grid td { text-align: center; }
table.grid img { image-rendering: pixelated; max-width: 200px; display: block; margin: auto; }
.curves img { margin: 4px; border: 1px solid #eee; }
.skipped { color: #a40; }
pre { background: #f6f6f6; padding: 8px; font-size: 0.8em; overflow-x: auto; }
dl dt { font-weight: bold; } dl dd { margin: 0 0 4px 16px; }
"""


def _definitions(report: Report) -> list[tuple[str, str]]:
    return [(_header(c, report.directions), report.descriptions.get(c, "")) for c in report.columns + report.gt_columns]


def render_markdown(report: Report, grid: list[list[str | None]], curves: list[tuple[str, str]]) -> str:
    out = [f"# {report.title}", ""]
    out += [f"- **{k}**: {v}" for k, v in report.header.items()]
    if report.skipped:
        out += ["", "Skipped:", *[f"- {line}" for line in report.skipped]]
    out += [
        "",
        "## Metrics",
        "",
        markdown_table(report.rows, report.columns, report.directions),
        "",
        "Best value per column in bold (↓ lower is better, ↑ higher is better; no arrow: reported, not ranked).",
    ]
    if report.gt_rows:
        out += ["", f"## {GT_TITLE}", "", markdown_table(report.gt_rows, report.gt_columns, report.directions)]
    out += ["", "## Samples", "", "Outputs nearest-upscaled for visibility; inputs scaled to the same size.", ""]
    columns = report.grid_rows
    out.append("| input | " + " | ".join(_md(r.name) for r in columns) + " |")
    out.append("|" + "---|" * (len(columns) + 1))
    for line, name in zip(grid, report.input_names, strict=True):
        cells = [f"![{_md(name)}]({line[0]})"]
        for rel, row in zip(line[1:], columns, strict=True):
            cells.append(f"![{_md(row.name)}]({rel})" if rel else _md(_missing(row)))
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "## Training curves", ""]
    out += [f"![{m}]({rel})" for m, rel in curves] or ["No metrics.jsonl in the evaluated runs."]
    out += ["", "## Metrics and notes", ""]
    out += [f"- `{head}`: {text}" for head, text in _definitions(report)]
    out += ["", *[f"- {n}" for n in report.notes]]
    out += ["", "## Runs", ""]
    for row in report.rows:
        if row.kind != "run":
            continue
        out += [f"### {row.name}", "", *[f"- {k}: {v}" for k, v in row.details.items()], ""]
        if row.config_yaml:
            out += [
                "<details><summary>resolved config</summary>",
                "",
                "```yaml",
                row.config_yaml.rstrip(),
                "```",
                "",
                "</details>",
                "",
            ]
    return "\n".join(out) + "\n"


def render_html(report: Report, grid: list[list[str | None]], curves: list[tuple[str, str]]) -> str:
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(report.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
        "<ul>",
    ]
    parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in report.header.items()]
    parts.append("</ul>")
    if report.skipped:
        parts.append(
            "<p class='skipped'>Skipped:</p><ul class='skipped'>"
            + "".join(f"<li>{e(s)}</li>" for s in report.skipped)
            + "</ul>"
        )
    parts += [
        "<h2>Metrics</h2>",
        html_table(report.rows, report.columns, report.directions, report.descriptions),
        (
            "<p><small>Best value per column in bold (↓ lower is better, ↑ higher is better; no arrow: reported, "
            "not ranked). Definitions below.</small></p>"
        ),
    ]
    if report.gt_rows:
        parts += [
            f"<h2>{e(GT_TITLE)}</h2>",
            html_table(report.gt_rows, report.gt_columns, report.directions, report.descriptions),
        ]
    columns = report.grid_rows
    parts += [
        "<h2>Samples</h2><p>Outputs nearest-upscaled for visibility; inputs scaled to the same size.</p>",
        "<table class='grid'><thead><tr><th>input</th>"
        + "".join(f"<th>{e(r.name)}</th>" for r in columns)
        + "</tr></thead><tbody>",
    ]
    for line, name in zip(grid, report.input_names, strict=True):
        cells = [f"<td><img src='{e(line[0] or '')}' alt='{e(name)}'><small>{e(name)}</small></td>"]
        for rel, row in zip(line[1:], columns, strict=True):
            cells.append(
                f"<td><img src='{e(rel)}' alt='{e(row.name)}'></td>"
                if rel
                else f"<td class='text'>{e(_missing(row))}</td>"
            )
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts += ["</tbody></table>", "<h2>Training curves</h2><div class='curves'>"]
    parts += [f"<img src='{e(rel)}' alt='{e(m)}'>" for m, rel in curves] or [
        "<p>No metrics.jsonl in the evaluated runs.</p>"
    ]
    parts += ["</div>", "<h2>Metrics and notes</h2><dl>"]
    parts += [f"<dt>{e(head)}</dt><dd>{e(text)}</dd>" for head, text in _definitions(report)]
    parts += ["</dl><ul class='notes'>", *[f"<li>{e(n)}</li>" for n in report.notes], "</ul>", "<h2>Runs</h2>"]
    for row in report.rows:
        if row.kind != "run":
            continue
        items = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in row.details.items())
        parts.append(
            f"<details><summary>{e(row.name)}</summary><ul>{items}</ul>"
            f"<pre>{e(row.config_yaml or 'no .hydra/config.yaml')}</pre></details>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _json_table(rows: Sequence[Row], columns: Sequence[str]) -> dict[str, Any]:
    """A table for report.json: numbers as numbers, text cells as text, missing/non-finite as null."""

    def cell(value: Any) -> Any:
        return float(value) if is_number(value) else value if isinstance(value, str) else None

    return {
        "columns": list(columns),
        "rows": [
            {"name": r.name, "kind": r.kind, **{c: cell(_row_values(r, columns).get(c)) for c in columns}} for r in rows
        ],
    }


def render_json(report: Report) -> str:
    """The tables as JSON (``metrics`` and, with a paired test split, ``ground_truth``), for scripts and tests."""
    data: dict[str, Any] = {
        "title": report.title,
        "header": report.header,
        "metrics": _json_table(report.rows, report.columns),
    }
    if report.gt_rows:
        data["ground_truth"] = _json_table(report.gt_rows, report.gt_columns)
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def write_report(report: Report, out_dir: str | Path, display_px: int = 128) -> tuple[Path, Path]:
    """Write images, curves, report.md, report.html and report.json into ``out_dir``; returns (md, html) paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = save_grid(report, out_dir, display_px)
    curves = plot_curves(report.histories, out_dir, report.directions)
    md, page = out_dir / "report.md", out_dir / "report.html"
    write_text(md, render_markdown(report, grid, curves))
    write_text(page, render_html(report, grid, curves))
    write_text(out_dir / "report.json", render_json(report))
    return md, page
