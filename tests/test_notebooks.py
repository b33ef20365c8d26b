"""Notebooks are thin, generated from one template, stored without outputs except nbval's checked cells."""

import re

import nbformat
import pytest
from helpers import ROOT

from opskit.report.notebooks import REVIEWS, notebook

NOTEBOOKS = sorted((ROOT / "opskit" / "notebooks").glob("*.ipynb"))


def test_every_review_has_its_notebook():
    assert [p.stem for p in NOTEBOOKS] == sorted(REVIEWS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_the_template_and_keeps_only_checked_outputs(path):
    stored = nbformat.read(path, as_version=4)
    fresh = notebook(path.stem)
    assert [c["source"] for c in stored["cells"]] == [c.source for c in fresh.cells]
    tags = [c.get("metadata", {}).get("tags", []) for c in stored["cells"]]
    assert ["parameters"] in tags and ["nbval-ignore-output"] in tags
    for cell in stored["cells"]:
        if cell["cell_type"] == "code" and cell["outputs"]:
            assert cell["source"].startswith("# NBVAL_CHECK_OUTPUT")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_hold_no_logic(path):
    stored = nbformat.read(path, as_version=4)
    code = [c["source"] for c in stored["cells"] if c["cell_type"] == "code"]
    assert sum(len(src.splitlines()) for src in code) < 25
    for forbidden in ("def ", "class ", "for ", "groupby", "read_csv", "merge("):
        assert not any(forbidden in src for src in code), forbidden


def test_headings_state_no_limit_the_policy_can_change():
    """A team policy of 36 h or a count on the 28th must not be contradicted by a notebook's heading: the
    limits in force are rendered in each review's rules table, so the headings name none."""
    from opskit.reviews import FAMILIES

    for family in FAMILIES:
        assert not re.search(r"\d+\s*(?:小时|天|日|h\b|days?\b|周)|两周|30th", family.about), family.name
