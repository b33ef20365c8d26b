"""The review notebooks are thin and alike; they are written from one template so they stay so.

They ship inside the package (`opskit/notebooks/`), so a wheel install runs the batch and the
dashboards; `python -m opskit.report.notebooks` rewrites them (without outputs except the cells
nbval checks, which are filled by running them once). The notebook list, titles and review classes
come from the family registry (`opskit.reviews`).
"""

from __future__ import annotations

from pathlib import Path

from ..reviews import BY_NOTEBOOK, FAMILIES

REVIEWS = [f.notebook for f in FAMILIES]
NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def review_class(name: str):
    """The Review subclass behind notebook `name`."""
    return BY_NOTEBOOK[name].review_class()


PARAMETERS = """\
import os

data_root = os.environ.get("OPSKIT_DATA_ROOT", "../../data_samples")  # a root of YYYY-MM/ folders, or one month
month = None  # e.g. "2026-10"; None: the latest month under data_root
as_of = None  # e.g. "2026-11-01 00:00"; None: the first instant of the next month
policy = None  # a policy YAML overriding the defaults
lang = "zh"  # "zh" or "en"
audience = os.environ.get("OPSKIT_AUDIENCE", "analyst")  # "manager": personal data masked
interactive = True  # widgets (JupyterLab, Voila); False: the static report of the batch
result = None  # a month result the batch computed and saved; None: computed here (cached)
history = os.environ.get("OPSKIT_HISTORY")  # history store (URL or file); None: the month before from data_root"""


def notebook(name: str):
    import nbformat.v4 as nbf

    family = BY_NOTEBOOK[name]
    title, about = family.title, family.about
    cells = [
        nbf.new_markdown_cell(f"# {title}\n\n{about}"),
        nbf.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        nbf.new_code_cell(
            "import opskit\n"
            "from opskit.month import open_review\n"
            "from opskit.report.dashboard import show\n\n"
            f"review = open_review({name!r}, data_root, month, as_of=as_of, policy=policy, lang=lang,\n"
            "                     audience=audience, saved=result, strict=not interactive, history=history)\n"
            "data, findings = review.data, review.findings  # to explore: data['orders'], opskit.summary(findings)"
        ),
        nbf.new_code_cell("# NBVAL_CHECK_OUTPUT\nreview.rules_view()"),
        nbf.new_code_cell(
            "show(review, interactive, data_root, as_of=as_of, policy=policy)",
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

    from .kernels import IOPUB_WAIT, WakefulKernelManager

    written = []
    for name in REVIEWS:
        nb = notebook(name)
        resources = {"metadata": {"path": str(folder)}}
        NotebookClient(
            nb, resources=resources, timeout=300, iopub_timeout=IOPUB_WAIT, kernel_manager_class=WakefulKernelManager
        ).execute()
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
