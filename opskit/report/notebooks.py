"""The review notebooks are thin and alike; they are written from one template so they stay so.

`python -m opskit.report.notebooks` rewrites `notebooks/*.ipynb` (without outputs except the
cells nbval checks, which are filled by running them once).
"""

from __future__ import annotations

from pathlib import Path

from ..reviews import BY_NOTEBOOK, FAMILIES

REVIEWS = [f.notebook for f in FAMILIES]
NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def review_class(name: str):
    """The Review subclass behind notebook `name`."""
    return BY_NOTEBOOK[name].review_class()


PARAMETERS = """\
import os

data_root = os.environ.get("OPSKIT_DATA_ROOT", "../data_samples")  # a root of YYYY-MM/ folders, or one month
month = None  # e.g. "2026-10"; None: the latest month under data_root
as_of = None  # e.g. "2026-11-01 00:00"; None: the first instant of the next month
policy = None  # a policy YAML overriding the defaults
lang = "zh"  # "zh" or "en"
interactive = True  # widgets (JupyterLab, Voila); False: the static report of the batch
output_dir = None  # where the batch collects headline figures
history = os.environ.get("OPSKIT_HISTORY")  # history store (URL or file); None: the month before from data_root"""


def notebook(name: str):
    import nbformat.v4 as nbf

    family = BY_NOTEBOOK[name]
    module, cls = f"opskit.reviews.{family.name}.review", family.review.partition(":")[2]
    title, about = family.title, family.about
    cells = [
        nbf.new_markdown_cell(f"# {title}\n\n{about}"),
        nbf.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        nbf.new_code_cell(
            "import opskit\n"
            f"from {module} import {cls}\n\n"
            f"review = {cls}.open(\n"
            "    data_root, month, as_of=as_of, policy=policy, lang=lang, strict=not interactive, history=history\n"
            ")\n"
            "data, findings = review.data, review.findings  # to explore: data['orders'], opskit.summary(findings)"
        ),
        nbf.new_code_cell("# NBVAL_CHECK_OUTPUT\nreview.rules_view()"),
        nbf.new_code_cell("kpis = review.save_kpis(output_dir)"),
        nbf.new_code_cell(
            "review.dashboard(data_root, as_of=as_of, policy=policy) if interactive else review.report()",
            metadata={"tags": ["nbval-ignore-output"]},
        ),
    ]
    for i, cell in enumerate(cells):
        cell.id = f"{name.replace('_', '-')}-{i}"  # stable ids: regenerating changes nothing
    nb = nbf.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_all(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """Write every review notebook, then fill the outputs of the cells nbval checks."""
    import nbformat
    from nbclient import NotebookClient

    written = []
    for name in REVIEWS:
        nb = notebook(name)
        NotebookClient(nb, resources={"metadata": {"path": str(folder)}}, timeout=300).execute()
        for cell in nb.cells:
            if cell.cell_type == "code":
                checked = cell.source.startswith("# NBVAL_CHECK_OUTPUT")
                if not checked:  # nbval compares the checked cells' stored outputs, which need a count
                    cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        nb.metadata.pop("widgets", None)
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path}")
