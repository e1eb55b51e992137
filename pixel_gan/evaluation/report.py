"""Render an evaluation as ``report.md`` + ``report.html`` with images and plots beside them.

Both files reference the PNGs by relative path, so a report folder can be moved, zipped or served
as it is. Rendering takes a finished :class:`Report` and computes nothing, which keeps it testable
without models.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pixel_gan.evaluation.figures import (
    comparison_grid,
    fit_for_display,
    history_metrics,
    plot_curves,
    save_grid,
    slug,
    upscale_for_display,
)
from pixel_gan.evaluation.rows import ARROWS, GT_TITLE, HISTORY_KEYS, Report, Row, Value, is_number
from pixel_gan.safe_io import write_text

__all__ = [
    "ARROWS",
    "GT_TITLE",
    "HISTORY_KEYS",
    "Report",
    "Row",
    "Value",
    "comparison_grid",
    "fit_for_display",
    "history_metrics",
    "is_number",
    "plot_curves",
    "save_grid",
    "slug",
    "upscale_for_display",
]

# --------------------------------------------------------------------------- table


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
