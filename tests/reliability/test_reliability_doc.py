"""docs/reliability.md lists every case the reliability tests try, with the messages they produce."""

from __future__ import annotations

import re

import pytest
from bad_input_cases import CASE_IDS
from make_reliability_table import DOC, MARKERS, generated, splice

pytest.importorskip("gradio")


def test_the_generated_tables_of_the_doc_are_up_to_date():
    text = DOC.read_text()
    assert splice(text, generated()) == text, (
        "docs/reliability.md is out of date: run python tests/reliability/make_reliability_table.py --write"
    )


def test_every_case_id_has_a_row():
    from test_config_faults import CASES

    text = DOC.read_text()
    sections = {key: text.split(start, 1)[1].split(end, 1)[0] for key, (start, end) in MARKERS.items()}
    config_ids = [(c.values if hasattr(c, "values") else c)[0] for c in CASES]
    for key, ids in (("bad-inputs", CASE_IDS), ("config-faults", config_ids)):
        rows = [r for r in re.findall(r"^\| ([\w-]+) \|", sections[key], flags=re.MULTILINE) if r != "case"]
        assert rows == ids, key
