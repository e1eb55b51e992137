"""The metrics table: best value per column by direction, text cells never ranked."""

from __future__ import annotations

import math

from pixel_gan.evaluation.report import Row, best_rows, format_value, html_table, markdown_table

DIRECTIONS = {"lower_m": "lower", "higher_m": "higher", "info_m": "info"}
COLUMNS = list(DIRECTIONS)


def test_best_follows_each_columns_direction() -> None:
    rows = [
        {"lower_m": 0.5, "higher_m": 0.2, "info_m": 3.0},
        {"lower_m": 0.1, "higher_m": 0.9, "info_m": 1.0},
        {"lower_m": 0.3, "higher_m": 0.4, "info_m": 9.0},
    ]
    assert best_rows(rows, COLUMNS, DIRECTIONS) == {"lower_m": {1}, "higher_m": {1}, "info_m": set()}


def test_ties_all_win_and_text_or_missing_cells_never_do() -> None:
    rows = [
        {"lower_m": 0.2, "higher_m": "unavailable (weights not found at /x)"},
        {"lower_m": 0.2, "higher_m": math.nan},
        {"lower_m": "not installed", "higher_m": None},
        {"lower_m": 0.7},
    ]
    best = best_rows(rows, COLUMNS, DIRECTIONS)
    assert best["lower_m"] == {0, 1}
    assert best["higher_m"] == set()  # no finite number in the column: nothing is best


def test_unknown_column_is_not_ranked() -> None:
    assert best_rows([{"x": 1.0}, {"x": 2.0}], ["x"], {}) == {"x": set()}


def test_markdown_and_html_bold_exactly_the_best_cells() -> None:
    rows = [
        Row("run-a", "run", {"lower_m": 0.25, "higher_m": 0.5, "info_m": 16.0}),
        Row("run-b", "run", {"lower_m": 0.125, "higher_m": 0.75, "info_m": 4.0}),
        Row("PixelOE", "baseline", status="not installed"),
    ]
    md = markdown_table(rows, COLUMNS, DIRECTIONS)
    lines = md.splitlines()
    assert lines[0] == "| row | lower_m ↓ | higher_m ↑ | info_m |"
    assert lines[2] == "| run-a | 0.25 | 0.5 | 16 |"
    assert lines[3] == "| run-b | **0.125** | **0.75** | 4 |"
    assert lines[4] == "| PixelOE *(baseline)* | not installed | not installed | not installed |"
    page = html_table(rows, COLUMNS, DIRECTIONS, {})
    assert page.count("<strong>") == 2
    assert "<strong>0.125</strong>" in page and "<strong>0.75</strong>" in page


def test_format_value() -> None:
    assert format_value({"m": 0.123456}, "m") == "0.1235"
    assert format_value({"kid": 0.0123, "kid_std": 0.0041}, "kid") == "0.0123 ± 0.0041"
    assert format_value({"m": "not configured"}, "m") == "not configured"
    assert format_value({}, "m") == "—"


def test_pipes_in_names_do_not_break_the_markdown_table() -> None:
    md = markdown_table([Row("a|b", "run", {"lower_m": 1.0})], ["lower_m"], DIRECTIONS)
    assert "a\\|b" in md.splitlines()[2]
