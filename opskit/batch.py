"""`opskit run`: execute the review notebooks for a month and leave complete reports behind.

Everything is written into a staging folder beside `OUT/MONTH/` and swapped in at the end, so a
reader sees either the previous complete run or the new one, never half of one (the mechanics —
lock, staging, atomic swap, input fingerprints, worker lifetime — are in `publish.py`). A failing
notebook does not stop the others; the run's partial output goes to `OUT/MONTH.failed/`, the
previous complete month stays, and the command names the notebook, its cell and the error, and
exits non-zero.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import OpskitError
from .loader import load, resolve_folder
from .policy import load_policy
from .publish import (
    MonthLock,
    changed_inputs,
    disk_full_error,
    fingerprint,
    is_disk_full,
    new_staging,
    publish,
    publish_failed,
    remove_failed,
    remove_stale_staging,
    worker_dies_with_parent,
)
from .render import readable_findings
from .report.excel import write_workbook
from .report.files import _umask, atomic_write_text, safe_cells
from .report.i18n import figure_text, t
from .report.masking import AUDIENCE, for_managers, mask_frame, scrub_notebook
from .report.notebooks import NOTEBOOK_DIR, REVIEWS, review_class
from .runner import CheckResult, run_checks, select_rules

_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>', re.I)


@dataclass
class NotebookRun:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    full_disk_at: str = ""  # the file that could not be written for lack of space


def notebooks_dir() -> Path:
    return Path(os.environ.get("OPSKIT_NOTEBOOKS", NOTEBOOK_DIR))


def _quiet_worker() -> None:
    """Kernels inherit this worker's stderr; their chatter and, on Ctrl-C, their tracebacks are not
    the user's concern: every failure is reported by `run_month` itself."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _execute(name: str, staging: str, parameters: dict, timeout: int, mask: bool = True) -> NotebookRun:
    """Run one notebook with papermill (in a worker process) and export its HTML without code."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    _quiet_worker()
    source = notebooks_dir() / f"{name}.ipynb"
    target = Path(staging) / f"{name}.ipynb"
    try:
        pm.execute_notebook(
            str(source),
            str(target),
            parameters=parameters,
            cwd=str(source.parent),
            progress_bar=False,
            execution_timeout=timeout,
            kernel_name="python3",
            log_output=False,
        )
    except PapermillExecutionError as exc:
        _for_managers(target, parameters, source.parent, mask)
        first = (exc.source or "").strip().splitlines()
        where = f"cell {exc.exec_count}" + (f" ({first[0][:60]})" if first else "")
        full = (
            re.search(rf"\[Errno {errno.ENOSPC}\][^']*'([^']+)'", str(exc.evalue)) if exc.ename == "OSError" else None
        )
        error = f"{where}: {exc.ename}: {exc.evalue}"
        return NotebookRun(name, False, time.perf_counter() - started, error, full.group(1) if full else "")
    except Exception as exc:  # a dead kernel, a timeout, a missing notebook: say which and why
        if is_disk_full(exc):
            where = str(getattr(exc, "filename", None) or target)
            return NotebookRun(name, False, time.perf_counter() - started, f"no space left writing {where}", where)
        return NotebookRun(name, False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    try:
        _for_managers(target, parameters, source.parent, mask)
        export_html(target, Path(staging) / f"{name}.html")
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        where = str(exc.filename)
        return NotebookRun(name, False, time.perf_counter() - started, f"no space left writing {where}", where)
    return NotebookRun(name, True, time.perf_counter() - started)


def _for_managers(target: Path, parameters: dict, notebooks: Path, mask: bool) -> None:
    """The executed notebook lives in the managers' folder: no absolute paths (the data root, the
    staging folder, the installation), no tracebacks, personal data masked (unless the policy turns
    masking off). The HTML report is exported from this cleaned notebook."""
    if not target.exists():
        return
    data_root = Path(parameters["data_root"])
    paths = {
        str(data_root): data_root.name,
        parameters["output_dir"]: ".",
        str(notebooks.resolve()): "notebooks",
        sys.prefix: "<python>",
        str(Path.home()): "~",
    }
    if parameters.get("policy"):
        paths[parameters["policy"]] = Path(parameters["policy"]).name
    nb = json.loads(target.read_text(encoding="utf-8"))
    atomic_write_text(target, json.dumps(scrub_notebook(nb, paths, mask), ensure_ascii=False))


def export_html(notebook: Path, html_path: Path) -> Path:
    """HTML without code or prompts that reads offline: no scripts fetched from the internet."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_filename(str(notebook))
    atomic_write_text(html_path, _EXTERNAL_SCRIPT.sub("", body))
    return html_path


def _review_result(result: CheckResult, rules: str) -> CheckResult:
    ids = set(select_rules(rules))
    mine = result.findings["rule_id"].isin(ids)
    return CheckResult(
        result.findings[mine].reset_index(drop=True),
        result.summary[result.summary["rule_id"].isin(ids)].reset_index(drop=True),
        result.month,
        result.as_of,
        result.policy,
        result.notices,
        result.params[mine].reset_index(drop=True) if result.params is not None else None,  # to render masked
        result.lang,
    )


def write_month_outputs(
    staging: Path,
    data_root: Path,
    month: str,
    as_of,
    policy,
    lang: str,
    names: list[str],
    inputs: dict | None = None,
    history: str | None = None,
) -> tuple[CheckResult, dict]:
    """findings.csv, kpis.json (with the input files' sizes and hashes) and the managers' workbook,
    computed from opskit (not scraped), showing earlier months and follow-ups from the history store.
    Returns the month's result and headline figures, which `record_month` stores once published."""
    data = load(data_root, month)
    result = run_checks(data, month, as_of, policy, lang=lang)
    atomic_write_text(staging / "findings.csv", safe_cells(findings_file(result)).to_csv(index=False))
    kpis = {}
    for path in sorted((staging / "kpis").glob("*.json")):
        kpis[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    atomic_write_text(
        staging / "kpis.json",
        json.dumps({"month": month, "reviews": kpis, "inputs": inputs or {}}, ensure_ascii=False, indent=1),
    )
    shutil.rmtree(staging / "kpis", ignore_errors=True)

    review_of = {}
    for name in REVIEWS:
        review_of.update({r: t(name, lang) for r in select_rules(review_class(name).rules)})
    summary = result.summary.assign(review=result.summary["rule_id"].map(review_of))
    summary = summary.assign(title=summary["title_zh"] if lang == "zh" else summary["title"])
    summary = summary[["review", "rule_id", "title", "checked", "failed", "share_failed", "pending", "source_clause"]]
    from .history_store import MonthContext
    from .report.history import carried_view, change, month_context
    from .report.i18n import columns

    contexts = {
        name: month_context(review_class(name), data_root, month, history, as_of=as_of, policy=result.policy)
        for name in names
    }
    kpi_rows = [
        {
            "review": t(name, lang),
            "metric": t(k, lang, result.policy),
            "value": figure_text(k, v, lang),
            "key": k,
            "raw": v,
            "before": contexts[name].previous_kpis.get(name, {}).get(k) if name in contexts else None,
        }
        for name, figures in kpis.items()
        for k, v in figures.items()
        if k not in ("review", "month")
    ]
    for row in kpi_rows:
        key, raw, before = row.pop("key"), row.pop("raw"), row.pop("before")
        row["previous_month"] = figure_text(key, before, lang) if before is not None else None
        row["change"] = change(raw, before)
    headline_columns = ["review", "metric", "value", "previous_month", "change"]
    sheets = [
        (
            t("summary", lang),
            f"{month} · {t('rule_summary', lang)}",
            summary.rename(columns=columns(summary.columns, lang)),
        ),
        (
            t("headline", lang),
            f"{month} · {t('headline', lang)}",
            pd.DataFrame(kpi_rows, columns=headline_columns).rename(columns=columns(headline_columns, lang)),
        ),
    ]
    shown_review = None
    for name in names:
        review = review_class(name)(data, _review_result(result, review_class(name).rules), lang)
        review.data_root, review.history, review.history_url = data_root, contexts[name], history
        shown_review = review
        sheets.append((review.title, f"{month} · {review.title}", review.findings_view()))
        for title, frame in review.tables():
            sheets.append((f"{review.title}-{title}", title, review.shown(frame)))
    if contexts:
        merged = MonthContext(month)  # each review's context: from the store, or its own rules from the data root
        merged.carried = (
            pd.concat([c.carried for c in contexts.values() if len(c.carried)] or [merged.carried], ignore_index=True)
            .drop_duplicates(["month", "finding_id"])
            .sort_values(["month", "finding_id"], kind="stable")
        )
        carried = carried_view(shown_review, merged, lang)
        sheets.append((t("carried_over", lang), f"{month} · {t('carried_over', lang)}", carried))
    from .history_store import STATUSES

    write_workbook(staging / f"opskit-{month}.xlsx", sheets, choices={t("followup_status", lang): list(STATUSES)})
    return result, kpis


def record_month(history: str, month: str, result: CheckResult, kpis: dict) -> None:
    """Record a published month in the history store, replacing an earlier run of it."""
    from .history_store import HistoryStore

    findings = result.findings
    if result.policy.masking and len(findings):  # the store lies beside the managers' reports: masked as they are
        findings = mask_frame(findings.assign(message=result.messages(mask=True).to_numpy()))
    store = HistoryStore(history)
    try:
        store.record_month(month, result.as_of, kpis, result.summary, findings)
    finally:
        store.close()


def findings_file(result: CheckResult) -> pd.DataFrame:
    """findings.csv: the machine columns as `opskit check` gives them (codes, rounded numbers), messages
    rendered for managers (personal parameters masked unless the policy turns masking off)."""
    masked = result.policy.masking and for_managers()
    shown = readable_findings(result.findings)
    if masked:
        shown["message"] = result.messages(mask=True)
        shown = mask_frame(shown)
    return shown


def run_month(
    folder: str | Path,
    month: str,
    out: str | Path,
    *,
    as_of: str | None = None,
    policy: str | None = None,
    lang: str | None = None,
    notebooks: list[str] | None = None,
    jobs: int = 2,
    timeout: int = 600,
    history: str | Path | None = None,
) -> int:
    """Run the reviews of `month` in `lang` (default: the policy's); returns the exit code (0 when every
    notebook and output succeeded).

    The month is recorded in the history store `history` (a SQLAlchemy URL or a file; by default
    `OUT/opskit-history.sqlite`), which the reviews read for earlier months and follow-ups.
    """
    lang = lang or load_policy(policy).lang
    names = [n.removesuffix(".ipynb") for n in (notebooks or list(REVIEWS))]
    unknown = [n for n in names if n not in REVIEWS]
    if unknown:
        raise OpskitError(f"unknown notebooks {unknown}; known: {', '.join(REVIEWS)}")
    month_folder, month = resolve_folder(folder, month)
    data_root = month_folder.parent if Path(folder).resolve() != month_folder.resolve() else month_folder
    out = Path(out)
    if out.resolve() == data_root.resolve() or data_root.resolve() in out.resolve().parents:
        raise OpskitError(f"--out {out} lies inside the data folder {data_root}; opskit never writes into data")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OpskitError(f"cannot write to {out}: {exc.strerror}") from None
    from .history_store import resolve_url

    history_url = resolve_url(history, out)
    with MonthLock(out, month):
        return _run_locked(data_root, month, out, names, as_of, policy, lang, jobs, timeout, history_url)


def _run_locked(
    data_root: Path, month: str, out: Path, names, as_of, policy, lang, jobs, timeout, history_url: str
) -> int:
    """The run proper, while this process holds the month's lock."""
    final = out / month
    for name in remove_stale_staging(out, month):
        print(f"removed {name}, left by an interrupted run", flush=True)
    inputs = fingerprint(data_root)
    mask = load_policy(policy).masking  # a bad policy is refused before anything is written
    try:
        staging = new_staging(out, month, 0o777 & ~_umask())
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(exc, out, final) from None
        raise OpskitError(f"cannot write to {out}: {exc.strerror}") from None
    parameters = dict(
        history=history_url,
        data_root=str(data_root.resolve()),
        month=month,
        as_of=as_of,
        policy=str(Path(policy).resolve()) if policy else None,
        lang=lang,
        interactive=False,
        output_dir=str(staging.resolve()),
    )
    runs: list[NotebookRun] = []
    audience = os.environ.get(AUDIENCE)
    os.environ[AUDIENCE] = "manager"  # the kernels write managers' reports: personal data is masked
    try:
        with ProcessPoolExecutor(
            max_workers=max(1, min(jobs, len(names))),
            initializer=worker_dies_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures = {pool.submit(_execute, n, str(staging), parameters, timeout, mask): n for n in names}
            for i, future in enumerate(as_completed(futures), start=1):
                run = future.result()
                runs.append(run)
                state = "ok" if run.ok else f"FAILED: {run.error}"
                print(f"[{i}/{len(names)}] {run.name}: {state} ({run.seconds:.1f} s)", flush=True)
        full = next((r for r in runs if r.full_disk_at), None)
        if full is not None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), full.full_disk_at)
        recorded, history_error = None, ""
        try:
            recorded = write_month_outputs(staging, data_root, month, as_of, policy, lang, names, inputs, history_url)
        except OpskitError as exc:
            runs.append(NotebookRun("findings.csv / kpis.json / workbook", False, 0.0, str(exc)))
            print(f"outputs: FAILED: {exc}", flush=True)
        changes = changed_inputs(data_root, inputs)
        if changes:
            runs.append(NotebookRun("inputs", False, 0.0, "files changed during the run: " + "; ".join(changes)))
        failed = [r for r in runs if not r.ok]
        if failed:
            beside = publish_failed(staging, final)
        else:
            publish(staging, final)
            remove_failed(final)
            try:  # only a published month enters the history: the store and the reports agree
                record_month(history_url, month, *recorded)
            except OpskitError as exc:
                history_error = str(exc)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if is_disk_full(exc):
            raise disk_full_error(exc, None, final) from None
        raise OpskitError(f"cannot write the reports in {out}: {exc.strerror} ({exc.filename})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # interrupted or failed: nothing half-written remains
        raise
    finally:
        if audience is None:
            os.environ.pop(AUDIENCE, None)
        else:
            os.environ[AUDIENCE] = audience
    if failed:
        previous = f"the previous reports in {final}/ are kept" if final.exists() else f"{final}/ was not written"
        print(f"this run's partial output is in {beside}/; {previous}")
        for run in failed:
            what = f"{run.name} failed at" if run.name in REVIEWS else f"{run.name}:"
            print(f"opskit run: {what} {run.error}", file=sys.stderr)
        return 1
    print(f"reports for {month} in {final}/")
    for path in sorted(final.iterdir()):
        if path.suffix in (".html", ".csv", ".json", ".xlsx"):
            print(f"  {path}")
    if history_error:
        print(f"opskit run: reports written, but the month is not in the history: {history_error}", file=sys.stderr)
        return 1
    return 0
