"""Where the browser's processor time goes when it opens a dashboard (one page at a time).

    python -m benchmarks.browser_cpu --reps 3            # CPU per page (median of reps), requests, DOM
    python -m benchmarks.browser_cpu --reps 1 --profile  # plus a JS sampling profile and a trace summary

Each load is a fresh browser context; the browser CPU is the sum over Chromium's processes (user+system
from /proc) from the navigation until the page has shown `.opskit-count` and then stayed quiet.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import BROWSER_ARGS, CHROMIUM
from benchmarks.team import REVIEWS, ROOT, SHOWN, descendants, start_server

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    return 0.0


def proc_kind(pid: int) -> str:
    with contextlib.suppress(OSError):
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
        if cmd and cmd[0].endswith(b"/node"):
            return "playwright-driver"
        if not any(b"chrom" in c for c in cmd[:1]):
            return ""
        for c in cmd:
            if c.startswith(b"--type="):
                kind = c[7:].decode()
                if kind == "utility":
                    sub = [x for x in cmd if x.startswith(b"--utility-sub-type=")]
                    kind = sub[0].split(b"=")[1].decode().split(".")[-1] if sub else kind
                return kind
        return "browser"
    return ""


def browser_snapshot(server: int, threads: bool = False) -> dict:
    """{pid: (kind, cpu)}; with threads, {(pid, tid): ("kind/thread name", cpu)}."""
    pids = descendants(os.getpid()) - descendants(server) - {server}
    out = {}
    for p in pids:
        kind = proc_kind(p)
        if not kind:
            continue
        if not threads:
            out[p] = (kind, proc_cpu(p))
            continue
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (task / "stat").read_text()
                    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
                    main = comm.startswith(("chromium", "headless_shell", "node"))
                    comm = "main" if main else comm.rstrip("0123456789")
                    fields = stat.rsplit(")", 1)[1].split()
                    out[(p, int(task.name))] = (f"{kind}/{comm}", (int(fields[11]) + int(fields[12])) / TICKS)
    return out


def diff(before: dict, after: dict) -> dict[str, float]:
    by_kind: dict[str, float] = collections.defaultdict(float)
    for pid, (kind, cpu) in after.items():
        by_kind[kind] += cpu - before.get(pid, (kind, 0.0))[1]
    return dict(by_kind)


DOM_JS = """() => ({
  elements: document.getElementsByTagName('*').length,
  html_chars: document.documentElement.outerHTML.length,
  widget_views: document.querySelectorAll('.jupyter-widgets').length,
  widget_outputs: document.querySelectorAll('.jupyter-widgets-output-area, .widget-output').length,
  lm_widgets: document.querySelectorAll('.lm-Widget').length,
  tables: document.querySelectorAll('table').length,
  rows: document.querySelectorAll('tr').length,
  imgs: document.querySelectorAll('img').length,
  stylesheets: document.styleSheets.length,
  css_rules: Array.from(document.styleSheets).reduce(
    (n, s) => { try { return n + s.cssRules.length } catch (e) { return n } }, 0),
  error_box: !!document.querySelector('.opskit-error') || document.body.innerText.includes('There was an error'),
  findings: !!document.querySelector('.opskit-findings-output table'),
})"""


def kind_of(url: str, rtype: str) -> str:
    path = url.split("?")[0]
    if rtype == "document":
        return "html"
    if path.endswith(".js") or rtype == "script":
        return "js"
    if path.endswith(".css") or rtype == "stylesheet":
        return "css"
    if rtype in ("font",) or path.endswith((".woff", ".woff2", ".ttf")):
        return "font"
    return rtype or "other"


SHOTS: Path | None = None


def one_load(browser, url: str, name: str, server: int, profile: bool, out: Path | None) -> dict:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.add_init_script(SHOWN)
    requests = collections.defaultdict(lambda: [0, 0])
    ws = {"sent": [0, 0], "recv": [0, 0]}
    finished = []
    page.on("requestfinished", lambda r: finished.append(r))

    def on_ws(sock):
        sock.on(
            "framesent",
            lambda p: (ws["sent"].__setitem__(0, ws["sent"][0] + 1), ws["sent"].__setitem__(1, ws["sent"][1] + len(p))),
        )
        sock.on(
            "framereceived",
            lambda p: (ws["recv"].__setitem__(0, ws["recv"][0] + 1), ws["recv"].__setitem__(1, ws["recv"][1] + len(p))),
        )

    page.on("websocket", on_ws)
    # a same-site page first, so that the profiler's renderer is the one the dashboard uses
    page.goto(f"{url}/opskit-nothing-here", wait_until="load")
    finished.clear()
    cdp = None
    if profile:
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 250})
        browser.start_tracing(
            page=page,
            categories=[
                "devtools.timeline",
                "v8",
                "v8.execute",
                "blink",
                "loading",
                "disabled-by-default-devtools.timeline",
                "toplevel",
            ],
        )
        cdp.send("Profiler.start")
    time.sleep(0.5)
    before = browser_snapshot(server)
    before_threads = browser_snapshot(server, threads=True)
    t0 = time.time() * 1000
    page.goto(f"{url}/voila/render/{name}.ipynb", wait_until="commit", timeout=120_000)
    page.wait_for_selector(".opskit-count", timeout=120_000)
    shown_ms = page.evaluate("window.__opskitShown") - t0
    at_shown = browser_snapshot(server)
    # then until the renderer has been quiet for 1 s (at most 15 s)
    last, quiet_since, deadline = sum(c for _, c in at_shown.values()), time.time(), time.time() + 15
    while time.time() < deadline:
        time.sleep(0.25)
        now = sum(c for _, c in browser_snapshot(server).values())
        if now - last > 0.02:
            last, quiet_since = now, time.time()
        elif time.time() - quiet_since >= 1.0:
            break
    after = browser_snapshot(server)
    after_threads = browser_snapshot(server, threads=True)
    result = {"name": name, "shown_s": shown_ms / 1000}
    result["cpu_shown"] = diff(before, at_shown)
    result["cpu_settled"] = diff(before, after)
    result["cpu_threads"] = {
        k: round(v, 3)
        for k, v in sorted(diff(before_threads, after_threads).items(), key=lambda kv: -kv[1])
        if v >= 0.02
    }
    for r in finished:
        with contextlib.suppress(Exception):
            sizes = r.sizes()
            k = kind_of(r.url, r.resource_type)
            requests[k][0] += 1
            requests[k][1] += sizes["responseBodySize"]
    result["requests"] = {k: tuple(v) for k, v in requests.items()}
    result["ws"] = ws
    result["dom"] = page.evaluate(DOM_JS)
    if SHOTS:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if profile:
        prof = cdp.send("Profiler.stop")["profile"]
        trace = browser.stop_tracing()
        result["js_by_url"] = js_by_url(prof)
        result["trace"] = trace_summary(json.loads(trace))
        if out:
            (out / f"{name}.cpuprofile").write_text(json.dumps(prof))
            (out / f"{name}.trace.json").write_bytes(trace)
    context.close()
    time.sleep(1)
    return result


def round_load(browser, url: str, server: int, viewers: int) -> dict:
    """`viewers` contexts at once, the four dashboards in turn: browser CPU per page, wait per page."""
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(viewers)]
    pages = []
    for c in contexts:
        page = c.new_page()
        page.add_init_script(SHOWN)
        pages.append(page)
    time.sleep(0.5)
    before = browser_snapshot(server)
    t0 = time.time() * 1000
    for i, page in enumerate(pages):
        page.goto(f"{url}/voila/render/{REVIEWS[i % len(REVIEWS)]}.ipynb", wait_until="commit", timeout=120_000)
    waits, bad = [], 0
    for page in pages:
        page.wait_for_selector(".opskit-count", timeout=120_000)
        waits.append((page.evaluate("window.__opskitShown") - t0) / 1000)
        bad += page.evaluate(DOM_JS)["error_box"]
    time.sleep(1.0)
    after = browser_snapshot(server)
    for c in contexts:
        c.close()
    time.sleep(2)
    d = diff(before, after)
    return {
        "per_page": sum(d.values()) / viewers,
        "by_kind": {k: v / viewers for k, v in d.items()},
        "median_wait": statistics.median(waits),
        "errors": bad,
    }


def js_by_url(prof: dict) -> dict[str, float]:
    nodes = {n["id"]: n for n in prof["nodes"]}
    total: dict[str, float] = collections.defaultdict(float)
    for sid, dt in zip(prof["samples"], prof["timeDeltas"], strict=False):
        cf = nodes[sid]["callFrame"]
        key = cf["url"].split("/")[-1].split("?")[0] or cf["functionName"] or "(anon)"
        total[key] += dt / 1e6
    return dict(sorted(total.items(), key=lambda kv: -kv[1]))


CATEGORY = {
    "compile/parse": (
        "v8.compile",
        "V8.CompileCode",
        "v8.compileModule",
        "V8.ParseProgram",
        "V8.ParseFunction",
        "v8.parseOnBackground",
        "CacheScript",
        "v8.produceCache",
        "V8.CompileLazy",
        "V8.CompileFullCode",
        "v8.deserializeOnBackground",
        "v8.compileLazy",
    ),
    "script": (
        "EvaluateScript",
        "FunctionCall",
        "v8.callFunction",
        "TimerFire",
        "EventDispatch",
        "FireAnimationFrame",
        "RunMicrotasks",
        "v8.run",
        "v8.evaluateModule",
        "XHRReadyStateChange",
        "XHRLoad",
        "FireIdleCallback",
        "RunTask",
        "ScheduleStyleRecalculation",
        "V8.BytecodeBudgetInterrupt",
        "AsyncTask Scheduled",
    ),
    "gc": (
        "MajorGC",
        "MinorGC",
        "V8.GCScavenger",
        "V8.GCCompactor",
        "V8.GCIncrementalMarking",
        "BlinkGC.AtomicPhase",
        "ThreadState::performIdleLazySweep",
        "V8.GCFinalizeMC",
        "V8.GC_MC_BACKGROUND_MARKING",
        "BlinkGC.IncrementalMarkingStep",
        "V8.GCFinalizeMCReduceMemory",
    ),
    "html parse": ("ParseHTML",),
    "style": (
        "UpdateLayoutTree",
        "RecalculateStyles",
        "Document::recalcStyle",
        "CSSParserImpl::parseStyleSheet.parse",
        "CSSParserImpl::parseStyleSheet.tokenize",
        "Document::updateStyle",
        "StyleEngine::UpdateActiveStyle",
        "ParseAuthorStyleSheet",
        "InvalidateLayout",
        "StyleInvalidatorInvalidationTracking",
    ),
    "layout": (
        "Layout",
        "UpdateLayerTree",
        "LocalFrameView::performLayout",
        "InlineNode::ShapeTextIncludingFirstLine",
        "LayoutObject::layout",
        "InlineNode::CollectInlines",
        "IntersectionObserverController::computeIntersections",
    ),
    "paint": (
        "Paint",
        "PaintImage",
        "PrePaint",
        "Layerize",
        "CompositeLayers",
        "RasterTask",
        "Decode Image",
        "ImageDecodeTask",
        "Commit",
        "UpdateLayer",
        "PaintArtifactCompositor::Update",
    ),
}
NAME_TO_CAT = {n: c for c, names in CATEGORY.items() for n in names}


def trace_summary(trace: dict) -> dict:
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    threads = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            threads[(e["pid"], e["tid"])] = e["args"]["name"]
    main = {k for k, v in threads.items() if v == "CrRendererMain"}
    # self time by name on renderer main threads (complete events and B/E pairs), nested by a stack
    per_thread = collections.defaultdict(list)
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if key in main and e.get("ph") in ("X", "B", "E") and "ts" in e:
            per_thread[key].append(e)
    selfs: dict[str, float] = collections.defaultdict(float)
    by_url: dict[str, float] = collections.defaultdict(float)
    busy = 0.0
    for evs in per_thread.values():
        spans = []
        open_b = collections.defaultdict(list)
        for e in sorted(evs, key=lambda e: e["ts"]):
            if e["ph"] == "X" and "dur" in e:
                spans.append((e["ts"], e["ts"] + e["dur"], e["name"], e.get("args", {})))
            elif e["ph"] == "B":
                open_b[e["name"]].append(e)
            elif e["ph"] == "E" and open_b[e["name"]]:
                b = open_b[e["name"]].pop()
                spans.append((b["ts"], e["ts"], e["name"], b.get("args", {})))
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack: list[list] = []  # [start, end, name, child_time, url]

        def close(item, stack=stack):
            nonlocal busy
            dur = item[1] - item[0]
            selfs[item[2]] += max(0.0, dur - item[3])
            if item[4]:
                cat = NAME_TO_CAT.get(item[2], "other")
                by_url[f"{cat}:{item[4]}"] += max(0.0, dur - item[3])
            if stack:
                stack[-1][3] += dur
            else:
                busy += dur

        for start, end, name, args in spans:
            while stack and stack[-1][1] <= start:
                close(stack.pop())
            data = args.get("data") or {}
            url = data.get("url") or data.get("fileName") or (args.get("fileName") if isinstance(args, dict) else "")
            url = (url or "").split("/")[-1].split("?")[0]
            if not url and stack:
                url = stack[-1][4] if NAME_TO_CAT.get(name) in ("compile/parse", "gc", None) else ""
            stack.append([start, min(end, stack[-1][1]) if stack else end, name, 0.0, url])
        while stack:
            close(stack.pop())
    cats: dict[str, float] = collections.defaultdict(float)
    for name, t in selfs.items():
        cats[NAME_TO_CAT.get(name, "other")] += t / 1e6
    top = sorted(((n, t / 1e6) for n, t in selfs.items()), key=lambda kv: -kv[1])[:15]
    urls = sorted(((u, t / 1e6) for u, t in by_url.items()), key=lambda kv: -kv[1])[:12]
    return {"main_busy_s": busy / 1e6, "categories": dict(cats), "top_events": top, "by_url": urls}


def summarise(loads: list[dict]) -> dict:
    total = [sum(load["cpu_settled"].values()) for load in loads]
    shown = [sum(load["cpu_shown"].values()) for load in loads]
    kinds = {k for load in loads for k in load["cpu_settled"]}
    return {
        "cpu_settled": statistics.median(total),
        "cpu_shown": statistics.median(shown),
        "all": [round(t, 2) for t in total],
        "threads": {
            k: round(statistics.median([load["cpu_threads"].get(k, 0.0) for load in loads]), 2)
            for k in {k for load in loads for k in load["cpu_threads"]}
        },
        "by_kind": {k: round(statistics.median([load["cpu_settled"].get(k, 0.0) for load in loads]), 2) for k in kinds},
        "shown_s": statistics.median([load["shown_s"] for load in loads]),
    }


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--pages", nargs="+", default=REVIEWS)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--label", default="")
    parser.add_argument("--concurrent", type=int, default=0, help="rounds of N viewers at once instead")
    parser.add_argument("--shots", type=Path, default=None)
    args = parser.parse_args(argv)
    global SHOTS
    SHOTS = args.shots
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="opskit-bcpu-"))
    proc, port, _ = start_server(ROOT / "data_samples", folder / "serve.log")
    url = f"http://127.0.0.1:{port}"
    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            try:
                # warm the server (month cache, charts) with one untimed load of each page
                for name in args.pages:
                    one_load(browser, url, name, proc.pid, False, None)
                if args.concurrent:
                    rounds = [round_load(browser, url, proc.pid, args.concurrent) for _ in range(args.reps)]
                    per = [r["per_page"] for r in rounds]
                    print(
                        f"{args.label} {args.concurrent} at once: browser CPU per page {statistics.median(per):.2f} s "
                        f"({[round(x, 2) for x in per]}), median wait {[round(r['median_wait'], 1) for r in rounds]}, "
                        f"errors {sum(r['errors'] for r in rounds)}, by kind "
                        f"{ {k: round(v, 2) for k, v in rounds[len(rounds) // 2]['by_kind'].items() if v > 0.01} }; "
                        f"load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
                    results["rounds"] = rounds
                    args.pages = []
                for name in args.pages:
                    loads = [
                        one_load(browser, url, name, proc.pid, args.profile and i == 0, args.out)
                        for i in range(args.reps)
                    ]
                    results[name] = {"summary": summarise(loads), "loads": loads}
                    s = results[name]["summary"]
                    print(
                        f"{args.label} {name}: browser CPU {s['cpu_settled']:.2f} s settled ({s['all']}), "
                        f"{s['cpu_shown']:.2f} s at shown; {s['by_kind']}; shown {s['shown_s']:.1f} s; "
                        f"load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
            finally:
                browser.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(Exception):
            proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
