"""`opskit check | run | serve | samples | rules | explain | history | followup`: the command line other
programs rely on (SPEC §4).

Heavy modules are imported inside the commands, so `opskit --help` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="opskit", description="Check e-commerce operating rules and write monthly reviews."
    )
    p.add_argument("--version", action="version", version=f"opskit {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="check one month and print or write the findings")
    c.add_argument("folder", help="a month folder, or a data root holding YYYY-MM/ folders")
    c.add_argument("--month", help="the month to audit, e.g. 2026-10 (default: the folder's name)")
    c.add_argument("--as-of", dest="as_of", help='moment of the audit, e.g. "2026-11-01 00:00"')
    c.add_argument("--policy", help="a policy YAML file overriding the defaults")
    c.add_argument("--rules", help="rule ids or prefixes, e.g. ORD-003,CS-001 or ORD")
    c.add_argument("--summary", action="store_true", help="checked / failed / share per rule instead of findings")
    c.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="how findings are written (default: table)"
    )
    c.add_argument("--lang", choices=["zh", "en"], help="language of messages and titles (default: the policy's, zh)")
    c.add_argument("--output", help="write to this file instead of standard output")

    r = sub.add_parser("run", help="execute the review notebooks for a month and write the reports")
    r.add_argument("folder", help="a data root holding YYYY-MM/ folders (the reviews' trends read other months)")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--month", help="the month to report, e.g. 2026-10, 2026/10 or 2026年10月")
    which.add_argument("--months", help="a backfill: 2026-01..2026-10 (both included) or 2026-01,2026-03")
    r.add_argument("--out", required=True, help="reports go to OUT/MONTH/")
    r.add_argument(
        "--history", help="history store: a SQLAlchemy URL or an SQLite file (default OUT/opskit-history.sqlite)"
    )
    r.add_argument("--workers", type=int, default=2, help="with --months: months run at once on this machine")
    r.add_argument("--scheduler", help="with --months: run the months on this Dask cluster, e.g. tcp://host:8786")
    r.add_argument("--as-of", dest="as_of", help='moment of the audit, e.g. "2026-11-01 00:00" (default: month end)')
    r.add_argument("--policy", help="a policy YAML file overriding the defaults")
    r.add_argument("--lang", choices=["zh", "en"], help="language of the reports (default: the policy's, zh)")
    r.add_argument("--notebooks", nargs="+", help="notebook names (default: all four reviews)")
    r.add_argument("--jobs", type=int, default=2, help="notebooks executed at once")
    r.add_argument("--timeout", type=int, default=600, help="seconds a cell may run")

    s = sub.add_parser("serve", help="open the reviews as Voila dashboards on 127.0.0.1")
    s.add_argument("--port", type=int, default=8866, help="port to listen on (default: 8866)")
    s.add_argument("--data-root", default="data_samples", help="folder holding YYYY-MM/ data folders")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--no-preheat", action="store_true", help="kept for old scripts: kernels always start per page")
    s.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name viewers use besides 127.0.0.1/localhost (repeatable)",
    )
    s.add_argument("--token", help="login token, required with a non-loopback --host ('auto' generates one)")
    s.add_argument("--max-kernels", type=int, default=12, help="pages open at once; more viewers see a busy page")
    s.add_argument(
        "--release-after", type=float, default=60, help="seconds before the kernel of a closed page is released"
    )
    s.add_argument(
        "--history", help="history store (URL or SQLite file) whose follow-ups and earlier months the dashboards show"
    )

    h = sub.add_parser("history", help="print a rule's or a headline figure's monthly series from the history store")
    h.add_argument("--history", help="a SQLAlchemy URL or an SQLite file (default OUT/opskit-history.sqlite)")
    h.add_argument("--out", default="reports", help="the reports folder holding opskit-history.sqlite")
    what = h.add_mutually_exclusive_group(required=True)
    what.add_argument("--rule", help="a rule id, e.g. ORD-003: checked / failed / share / recurring per month")
    what.add_argument("--metric", help="a headline figure, e.g. on_time_shipping: value and change per month")
    what.add_argument("--months", action="store_true", help="the months recorded")
    what.add_argument("--followups", action="store_true", help="the follow-up audit trail")
    h.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="how the series is written (default: table)"
    )
    h.add_argument("--output", help="write to this file instead of standard output")

    f = sub.add_parser("followup", help="follow-up (整改) recorded by managers in the workbook")
    fsub = f.add_subparsers(dest="action", required=True)
    fi = fsub.add_parser("import", help="read owners, statuses and notes from a workbook into the history store")
    fi.add_argument("workbook", help="an opskit-YYYY-MM.xlsx that managers filled in")
    fi.add_argument("--by", required=True, help="who is importing (kept in the audit trail)")
    fi.add_argument("--history", help="a SQLAlchemy URL or an SQLite file (default: beside the workbook's folder)")

    u = sub.add_parser("rules", help="list the rules: title, limit in force, clock, source clause, scope")
    u.add_argument("--policy", help="a policy YAML file: show the limits it puts in force")
    u.add_argument("--rules", help="rule ids or prefixes to list, e.g. ORD or CS-001,STK (default: all)")
    u.add_argument("--lang", choices=["zh", "en"], default="en", help="language of the titles (default: en)")

    e = sub.add_parser("explain", help="one rule in full: limit in force, clock, source clause, scope, choices")
    e.add_argument("rule_id", help="a rule id, e.g. ORD-003")
    e.add_argument("--policy", help="a policy YAML file: show the limit it puts in force")

    g = sub.add_parser("samples", help="write the deterministic sample exports")
    g.add_argument("folder", help="where YYYY-MM/ folders are written")
    g.add_argument("--scale", type=int, help="orders per month for benchmark data (Parquet + CSV)")
    return p


def _write(text: str, output: str | None) -> None:
    if output:
        from .report.files import atomic_write_text

        atomic_write_text(Path(output), text)
    else:
        sys.stdout.write(text)


def cmd_check(args: argparse.Namespace) -> int:
    from .fastcheck import try_check

    answered = try_check(args, _write)  # Parquet and the rules with an Arrow measure: no pandas at all
    if answered is not None:
        return answered
    import warnings

    import pandas as pd

    from .errors import OpskitNotice, notice_line
    from .report.files import terminal_frame, terminal_safe
    from .runner import run_checks

    with warnings.catch_warnings():  # notices are printed below, once, as the command's own lines
        warnings.simplefilter("ignore", OpskitNotice)
        result = run_checks(args.folder, args.month, args.as_of, args.policy, args.rules, args.lang)
    for notice in result.notices:
        print(terminal_safe(notice_line(notice, result.lang)), file=sys.stderr)
    frame = result.summary if args.summary else result.findings.drop(columns=["title"])
    if not args.summary:
        from .render import readable_findings

        frame = readable_findings(frame)
    if args.format == "csv":
        from .report.files import safe_cells

        text = safe_cells(frame).to_csv(index=False)
    elif args.format == "json":
        text = frame.to_json(orient="records", force_ascii=False, date_format="iso", indent=1) + "\n"
    else:
        with pd.option_context(
            "display.max_rows", None, "display.max_columns", None, "display.width", 200, "display.max_colwidth", 70
        ):
            shown = terminal_frame(
                frame if args.summary else frame[["rule_id", "key", "observed", "limit", "unit", "message", "source"]]
            )
            from .locale import catalogue

            words = catalogue(result.lang)["formats"]
            text = (shown.to_string(index=False) if len(shown) else words["no_findings"]) + "\n"
            if not args.summary:
                as_of = f"{result.as_of:%Y-%m-%d %H:%M}"
                text += words["findings_count_line"].format(count=len(frame), month=result.month, as_of=as_of) + "\n"
    _write(text, args.output)
    return 0


def cmd_samples(args: argparse.Namespace) -> int:
    from .samples import write_samples

    for folder in write_samples(args.folder, args.scale):
        print(f"wrote {folder}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    history = args.history
    if history and "://" not in history:
        history = str(Path(history).resolve())
    if args.months:
        from .backfill import backfill, parse_months, run_argv

        months = parse_months(args.months)
        argv = run_argv(
            args.folder,
            args.out,
            as_of=args.as_of,
            policy=str(Path(args.policy).resolve()) if args.policy else None,
            lang=args.lang,
            notebooks=args.notebooks,
            jobs=args.jobs,
            timeout=args.timeout,
            history=history,
        )
        return backfill(months, argv, workers=args.workers, scheduler=args.scheduler)
    if args.scheduler:
        from .errors import OpskitError

        raise OpskitError("--scheduler runs a backfill: give --months, e.g. --months 2026-01..2026-10")
    import logging
    import warnings

    from .batch import run_month
    from .errors import Notice, OpskitNotice, logger, notice_line
    from .policy import load_policy
    from .report.files import terminal_safe

    lang = args.lang or load_policy(args.policy).lang

    class NoticeLines(logging.Formatter):
        """The batch's notices as lines in the report language, like `opskit check`'s."""

        def format(self, record: logging.LogRecord) -> str:
            templated = isinstance(record.msg, Notice) and not record.args
            return terminal_safe(notice_line(record.msg if templated else record.getMessage(), lang))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(NoticeLines())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OpskitNotice)
            return run_month(
                args.folder,
                args.month,
                args.out,
                as_of=args.as_of,
                policy=args.policy,
                lang=args.lang,
                notebooks=args.notebooks,
                jobs=args.jobs,
                timeout=args.timeout,
                history=history,
            )
    finally:
        logger.removeHandler(handler)


def cmd_history(args: argparse.Namespace) -> int:
    import pandas as pd

    from .history_store import history, resolve_url

    h = history(resolve_url(args.history, args.out))
    if args.rule:
        frame = h.rule(args.rule.strip().upper())
        what = f"rule {args.rule.strip().upper()}"
    elif args.metric:
        frame = h.metric(args.metric.strip())
        what = f"figure {args.metric.strip()}"
    elif args.months:
        frame, what = h.months, "months"
    else:
        frame, what = h.audit, "follow-up changes"
    if frame.empty and (args.rule or args.metric):
        known = sorted(set(h.rules["rule_id"])) if args.rule else sorted(set(h.metrics["metric"]))
        from .errors import OpskitError

        raise OpskitError(f"no {what} in the history store; known: {', '.join(known) or 'none (no month recorded)'}")
    if args.format == "csv":
        from .report.files import safe_cells

        text = safe_cells(frame).to_csv(index=False)
    elif args.format == "json":
        text = frame.to_json(orient="records", force_ascii=False, indent=1) + "\n"
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 60):
            from .report.files import terminal_frame

            text = (terminal_frame(frame).to_string(index=False) if len(frame) else f"no {what} recorded") + "\n"
    _write(text, args.output)
    return 0


def cmd_followup(args: argparse.Namespace) -> int:
    from .followup import import_followups

    result = import_followups(args.workbook, args.by, args.history)
    print(
        f"{args.workbook}: {result.rows} findings read, {result.findings} changed "
        f"({result.fields} values) by {args.by}, recorded in {result.store}"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    if args.history:  # the dashboards' kernels inherit it (the notebooks' `history` parameter reads it)
        import os

        from .history_store import resolve_url

        os.environ["OPSKIT_HISTORY"] = resolve_url(args.history)

    return serve(
        port=args.port,
        data_root=args.data_root,
        host=args.host,
        allow_host=args.allow_host,
        token=args.token,
        max_kernels=args.max_kernels,
        release_after=args.release_after,
    )


def cmd_rules(args: argparse.Namespace) -> int:
    from .explain import rule_table, text_table

    sys.stdout.write(text_table(rule_table(args.policy, args.rules, args.lang).drop(columns=["datasets"])))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import explain

    sys.stdout.write(explain(args.rule_id, args.policy))
    return 0


def main(argv: list[str] | None = None, *, leave_at_once: bool = False) -> int:
    """Run one command; its exit status. With `leave_at_once` (the `opskit` program itself), a
    command of `LEAVE_AT_ONCE` ends the process as soon as its output is out (see `_leave`)."""
    args = _parser().parse_args(argv)
    args.ends_process = leave_at_once and args.command in LEAVE_AT_ONCE  # nothing runs after the command
    if args.ends_process:
        # A check does no linear algebra: OpenBLAS's one thread per core, started as numpy is
        # imported, costs 0.05 s of a check that takes a few tenths.
        import os

        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from .errors import OpskitError

    try:
        commands = {
            "check": cmd_check,
            "run": cmd_run,
            "serve": cmd_serve,
            "samples": cmd_samples,
            "rules": cmd_rules,
            "explain": cmd_explain,
            "history": cmd_history,
            "followup": cmd_followup,
        }
        code = commands[args.command](args)
    except OpskitError as exc:
        from .report.files import terminal_safe

        print(f"opskit {args.command}: {terminal_safe(str(exc))}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print(f"opskit {args.command}: interrupted", file=sys.stderr)
        code = 130
    if leave_at_once and args.command in LEAVE_AT_ONCE:
        _leave(code)
    return code


LEAVE_AT_ONCE = {"check"}  # commands that start no thread, process or server of their own


def _leave(code: int) -> None:
    """End the process now, without taking the interpreter apart object by object.

    A check of a big month ends holding gigabytes of arrays and millions of Python objects. The
    ordinary exit frees them one by one after the findings are already written: 0.75 s of a
    10M-order check (0.08 s at 1M), which the user waits for and the system does in one step when
    the process ends. Nothing else is left to do by then: the output file was written and closed;
    logging and the standard streams are flushed here. If any other thread is still running, the
    ordinary exit (which waits for it) is kept."""
    import contextlib
    import logging
    import os
    import threading

    if threading.active_count() > 1:
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away (`| head`), a closed stream
            stream.flush()
    os._exit(code)


def entry() -> int:
    """The `opskit` program (and `python -m opskit.cli`)."""
    return main(leave_at_once=True)


if __name__ == "__main__":
    sys.exit(entry())
