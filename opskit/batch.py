"""`opskit run`: compute a month once, render every report of it, and leave them complete behind.

The month is loaded and checked once (`opskit.month`); the review notebooks read that saved result,
and findings.csv, kpis.json and the workbook are rendered from the same object, so they agree.

Everything is written into a staging folder beside `OUT/MONTH/` and swapped in at the end, so a
reader sees either the previous complete run or the new one, never half of one (the mechanics —
lock, staging, atomic swap, input fingerprints, worker lifetime — are in `publish.py`). A failing
notebook does not stop the others; the run's partial output goes to `OUT/MONTH.failed/`, the
previous complete month stays, and the command names the notebook, its cell and the error, and
exits non-zero.
"""

from __future__ import annotations

import dataclasses
import errno
import html
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

from .errors import DataError, OpskitError, say
from .loader import resolve_folder
from .month import MonthResult, cached
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
from .report.i18n import status_text, t
from .report.masking import AUDIENCE, for_managers, mask_frame, scrub_notebook
from .report.notebooks import NOTEBOOK_DIR, REVIEWS, review_class
from .runner import CheckResult, select_rules

RESULT_DIR = ".month-result"  # the computed month the notebooks read; removed before publishing
_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>', re.I)


@dataclass
class NotebookRun:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    full_disk_at: str = ""  # the file that could not be written for lack of space
    restarts: int = 0  # kernels that died while starting, before any cell ran (started again)


def notebooks_dir() -> Path:
    return Path(os.environ.get("OPSKIT_NOTEBOOKS", NOTEBOOK_DIR))


def _quiet_worker() -> None:
    """Kernels inherit this worker's stderr; their chatter and, on Ctrl-C, their tracebacks are not
    the user's concern: every failure is reported by `run_month` itself."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


START_ATTEMPTS = 3


def _died_starting(exc: Exception) -> bool:
    """jupyter_client's words for a kernel that exited before it answered its first request."""
    return isinstance(exc, RuntimeError) and "died before replying to kernel_info" in str(exc)


def _execute(name: str, staging: str, parameters: dict, timeout: int, mask: bool = True) -> NotebookRun:
    """Run one notebook with papermill (in a worker process) and export its HTML without code.

    A kernel that dies while starting is started again (up to `START_ATTEMPTS` in all). Kernels
    started at the same moment by the batch's workers pick their ports by binding and releasing
    them, so two can pick the same port and the second dies on its bind (papermill#511,
    jupyter_client#154): nothing of the notebook has run then, and a second start picks new ports."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .report.kernels import IOPUB_WAIT, WakefulKernelManager

    started = time.perf_counter()
    _quiet_worker()
    source = notebooks_dir() / f"{name}.ipynb"
    target = Path(staging) / f"{name}.ipynb"
    restarts = 0
    try:
        while True:
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
                    kernel_manager_class=WakefulKernelManager,  # no reply missed (see `report.kernels`)
                    iopub_timeout=IOPUB_WAIT,  # no output of a busy machine's last cell missed either
                )
                break
            except RuntimeError as exc:
                if not _died_starting(exc) or restarts + 1 >= START_ATTEMPTS:
                    raise
                restarts += 1
    except PapermillExecutionError as exc:
        _for_managers(target, parameters, source.parent, mask)
        first = (exc.source or "").strip().splitlines()
        where = f"cell {exc.exec_count}" + (f" ({first[0][:60]})" if first else "")
        full = (
            re.search(rf"\[Errno {errno.ENOSPC}\][^']*'([^']+)'", str(exc.evalue)) if exc.ename == "OSError" else None
        )
        error = f"{where}: {exc.ename}: {exc.evalue}"
        return NotebookRun(name, False, time.perf_counter() - started, error, full.group(1) if full else "", restarts)
    except Exception as exc:  # a dead kernel, a timeout, a missing notebook: say which and why
        if is_disk_full(exc):
            where = str(getattr(exc, "filename", None) or target)
            return NotebookRun(name, False, time.perf_counter() - started, f"no space left writing {where}", where)
        return NotebookRun(name, False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}", "", restarts)
    try:
        _for_managers(target, parameters, source.parent, mask)
        export_html(target, Path(staging) / f"{name}.html", parameters.get("lang") or "zh")
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        where = str(exc.filename)
        return NotebookRun(name, False, time.perf_counter() - started, f"no space left writing {where}", where)
    return NotebookRun(name, True, time.perf_counter() - started, restarts=restarts)


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


def export_html(notebook: Path, html_path: Path, lang: str = "zh") -> Path:
    """HTML without code or prompts that reads offline (no scripts fetched from the internet), in the
    reader's language: `<html lang>` and the title say it, so a browser neither offers to translate a
    Chinese report nor draws it with a Latin font's fallbacks."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_filename(str(notebook))
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = re.sub(r'<html lang="[^"]*">', f'<html lang="{lang}">', body, count=1)
    title = f"{t(notebook.stem, lang)} · {t('site_title', lang)}"
    body = re.sub(r"<title>.*?</title>", lambda _: f"<title>{html.escape(title)}</title>", body, count=1, flags=re.S)
    atomic_write_text(html_path, body)
    return html_path


def write_month_outputs(
    staging: Path,
    result: MonthResult,
    lang: str,
    names: list[str],
    inputs: dict | None = None,
    history: str | None = None,
) -> tuple[CheckResult, dict]:
    """findings.csv, kpis.json (with the input files' sizes and hashes) and the managers' workbook:
    renderings of the computed month, as the notebooks' HTML is, so they state the same figures; the
    workbook shows earlier months and follow-ups from the history store. Returns the month's findings
    and headline figures, which `record_month` stores once the reports are published."""
    reviews = [review_class(name)(result, lang, audience="manager") for name in names]
    for review in reviews:
        review.history_url = history
        review._history_from = {
            "data_root": result.data_root or result.folder,
            "as_of": None,
            "policy": result.policy_doc,
        }
    write_findings_csv(staging / "findings.csv", result, lang)
    write_kpis_json(staging / "kpis.json", result, reviews, inputs)
    from .history_store import STATUSES

    write_workbook(
        staging / f"opskit-{result.month}.xlsx",
        workbook_sheets(result, reviews, lang),
        choices={t("followup_status", lang): list(STATUSES)},
    )
    kpis = {r.name: {"review": r.name, "month": result.month, **result.kpis.get(r.name, {})} for r in reviews}
    return result.check_result(), kpis


def write_findings_csv(path: Path, result: MonthResult, lang: str = "zh") -> None:
    """findings.csv as `opskit check` gives it, messages in `lang` and masked for managers."""
    checked = dataclasses.replace(result.check_result(), lang=lang)
    atomic_write_text(path, safe_cells(findings_file(checked)).to_csv(index=False))


def write_kpis_json(path: Path, result: MonthResult, reviews: list, inputs: dict | None = None) -> None:
    doc = {
        "month": result.month,
        "as_of": str(result.as_of),
        "previous_month": result.previous_month,
        "reviews": {r.name: {"review": r.name, "month": result.month, **r.kpis()} for r in reviews},
        "changes": {r.name: r.changes() for r in reviews},
        "rules": result.rule_status().to_dict(orient="records"),
        "inputs": inputs or {},
    }
    atomic_write_text(path, json.dumps(doc, ensure_ascii=False, indent=1, default=_jsonable))


def workbook_sheets(result: MonthResult, reviews: list, lang: str) -> list[tuple[str, str, pd.DataFrame]]:
    """The workbook's sheets: the rule summary with each rule's state, the headline figures with their
    change against the previous month, the audit's context, then per review its findings and tables."""
    month = result.month
    review_of = {}
    for review in reviews:
        review_of.update({r: review.title for r in select_rules(review.rules)})
    status = result.rule_status().set_index("rule_id")
    summary = result.summary[result.summary["rule_id"].isin(review_of)]
    state = summary["rule_id"].map(status["state"]).map(lambda s: t(f"state_{s}", lang))
    why = summary["rule_id"].map(status["why"]).fillna("")
    summary = summary.assign(
        review=summary["rule_id"].map(review_of),
        title=summary["title_zh"] if lang == "zh" else summary["title"],
        status=[f"{s}: {w}" if w else s for s, w in zip(state, why, strict=True)],
    )
    skipped = summary["rule_id"].map(status["state"]).eq("skipped")
    said = status_text(result.summary.set_index("rule_id")["status"].astype("str"), lang)
    summary["status"] = summary["status"].where(~skipped, summary["rule_id"].map(said))
    summary = summary[
        ["review", "rule_id", "title", "checked", "failed", "share_failed", "pending", "status", "source_clause"]
    ]
    kpi_rows = []
    for review in reviews:
        changes = review.changes()
        for key, value in review.kpis().items():
            kpi_rows.append(
                {
                    "review": review.title,
                    "metric": t(key, lang, result.policy),
                    "value": value,
                    "change": changes.get(key),
                }
            )
    headline = pd.DataFrame(kpi_rows, columns=["review", "metric", "value", "change"])
    headline = headline.rename(columns={"change": f"{t('vs', lang)} {result.previous_month or '—'}"})
    sheets = [
        (t("summary", lang), f"{month} · {t('rule_summary', lang)}", localised(summary, lang)),
        (t("headline", lang), f"{month} · {t('headline', lang)}", localised(headline, lang)),
        (t("audit_context", lang), f"{month} · {t('audit_context', lang)}", context_frame(result, lang)),
    ]
    for review in reviews:
        sheets.append((review.title, f"{month} · {review.title}", non_empty(review.findings_view(), lang)))
        for title, frame in review.tables():
            sheets.append((f"{review.title}-{title}", title, non_empty(review.shown(frame), lang)))
    contexts = [r.history for r in reviews if r.history is not None]
    if contexts:
        from .history_store import MonthContext
        from .report.history import carried_view

        merged = MonthContext(month)  # each review's context: from the store, or its own rules from the data root
        merged.carried = (
            pd.concat([c.carried for c in contexts if len(c.carried)] or [merged.carried], ignore_index=True)
            .drop_duplicates(["month", "finding_id"])
            .sort_values(["month", "finding_id"], kind="stable")
        )
        carried = carried_view(reviews[-1], merged, lang)
        sheets.append((t("carried_over", lang), f"{month} · {t('carried_over', lang)}", non_empty(carried, lang)))
    return sheets


def context_frame(result: MonthResult, lang: str) -> pd.DataFrame:
    """As of, data folder, each file and when it was exported, skipped rules and why, notices."""
    rows = [(t("audit_cutoff", lang), f"{result.as_of:%Y-%m-%d %H:%M}"), (t("data_folder", lang), result.folder_label)]
    rows += [
        (f"{t('files_exported', lang)}: {f.name}", f"{f.modified:%Y-%m-%d %H:%M} ({f.size:,} B)") for f in result.files
    ]
    skipped = result.skipped()
    said = status_text(pd.Series([f"skipped: {why}" for why in skipped.values()], dtype="str"), lang)
    rows += [(f"{t('skipped_rules', lang)}: {rule}", why) for rule, why in zip(skipped, said, strict=True)] or [
        (t("skipped_rules", lang), t("none", lang))
    ]
    notices = [say(notice, lang) for notice in result.notices]
    rows += [(t("notices", lang), notice) for notice in notices] or [(t("notices", lang), t("none", lang))]
    return pd.DataFrame(rows, columns=[t("metric", lang), t("value", lang)])


def localised(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    from .report.i18n import columns

    return frame.rename(columns=columns(frame.columns, lang))


def non_empty(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A table with no rows says so in its first cell: a sheet never holds only its title."""
    if len(frame) or not len(frame.columns):
        return frame if len(frame.columns) else pd.DataFrame({t("value", lang): [t("nothing_this_month", lang)]})
    return pd.DataFrame({frame.columns[0]: [t("nothing_this_month", lang)]}).reindex(columns=frame.columns)


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


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
        result = compute_month(folder, month, as_of=as_of, policy=policy)  # bad data stops here, before any write
    except DataError as exc:
        raise OpskitError(exc.render(masked=True)) from None  # the batch's log lies beside managers' reports
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OpskitError(f"cannot write to {out}: {exc.strerror}") from None
    from .history_store import resolve_url

    history_url = resolve_url(history, out)
    with MonthLock(out, month):
        return _run_locked(result, data_root, month, out, names, as_of, policy, lang, jobs, timeout, history_url)


def compute_month(folder: str | Path, month: str, *, as_of: str | None, policy: str | None) -> MonthResult:
    """The month, computed once for every output (from the cache when its inputs are unchanged)."""
    return cached(folder, month, as_of=as_of, policy=policy)


def _run_locked(
    result: MonthResult,
    data_root: Path,
    month: str,
    out: Path,
    names,
    as_of,
    policy,
    lang,
    jobs,
    timeout,
    history_url: str,
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
    runs: list[NotebookRun] = []
    audience = os.environ.get(AUDIENCE)
    os.environ[AUDIENCE] = "manager"  # the kernels write managers' reports: personal data is masked
    try:
        try:
            saved = result.save(staging / RESULT_DIR)
        except OSError as exc:  # name the file, as every other write of the run does
            if exc.filename:
                raise
            code = errno.ENOSPC if is_disk_full(exc) else exc.errno
            raise OSError(code, os.strerror(code) if code else str(exc), str(staging / RESULT_DIR)) from exc
        parameters = dict(
            data_root=str(data_root.resolve()),
            month=month,
            as_of=as_of,
            policy=str(Path(policy).resolve()) if policy else None,
            lang=lang,
            audience="manager",
            interactive=False,
            result=str(saved.resolve()),
            history=history_url,
            output_dir=str(staging.resolve()),
        )
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
                again = f", kernel died starting: started {run.restarts + 1} times" if run.restarts else ""
                print(f"[{i}/{len(names)}] {run.name}: {state} ({run.seconds:.1f} s{again})", flush=True)
        full = next((r for r in runs if r.full_disk_at), None)
        if full is not None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), full.full_disk_at)
        recorded, history_error = None, ""
        try:
            recorded = write_month_outputs(staging, result, lang, names, inputs, history_url)
        except OpskitError as exc:
            runs.append(NotebookRun("findings.csv / kpis.json / workbook", False, 0.0, str(exc)))
            print(f"outputs: FAILED: {exc}", flush=True)
        shutil.rmtree(saved, ignore_errors=True)  # the month's raw data stays out of the managers' folder
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
