"""The Arrow path of `opskit check` (`opskit.fastcheck`) writes exactly what the ordinary path writes,
or declines and lets it: the same exit status, the same file byte for byte, the same notices.

Each case is a Parquet month (the benchmark's generator at a small size, with many more late orders,
unanswered tickets and broken ledger rows than it plants) broken in one way exports break. The
command runs three times: as shipped, with `OPSKIT_ENGINE=pandas` (the ordinary path only) and with
`OPSKIT_ENGINE=arrow` (a decline is an error), which tells whether the Arrow path answered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, SAMPLES

from opskit import cli
from opskit.fastcheck import ARROW_RULES
from opskit.samples import generate

RULES = "ORD-003,CS-001,STK-007"


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """A month of 3,000 orders with findings of every outcome: late and open orders, late and
    unanswered tickets, ledger rows whose arithmetic, carry or both break (some negative)."""
    month = generate(3000, months=("2026-10",))["2026-10"]
    rng = np.random.default_rng(7)
    orders = month["orders"].copy()
    paid = orders.index[orders["paid_at"].notna()]
    late = rng.choice(paid, 120, replace=False)
    orders.loc[late, "shipped_at"] = orders.loc[late, "paid_at"] + pd.to_timedelta(rng.integers(1441, 9000, 120), "min")
    unshipped = rng.choice(paid, 40, replace=False)
    orders.loc[unshipped, "shipped_at"] = pd.NaT
    orders.loc[unshipped[:10], "refunded_at"] = orders.loc[unshipped[:10], "paid_at"] + pd.Timedelta(hours=2)
    exact = paid[:5]  # exactly at the limit: complies
    orders.loc[exact, "shipped_at"] = orders.loc[exact, "paid_at"] + pd.Timedelta(hours=24)
    tickets = month["cs_tickets"].copy()
    quiet = rng.choice(tickets.index, 60, replace=False)
    tickets.loc[quiet[:30], "first_reply_at"] = pd.NaT
    tickets.loc[quiet[30:], "first_reply_at"] = tickets.loc[quiet[30:], "created_at"] + pd.Timedelta(hours=30)
    ledger = month["stock_ledger"].copy()
    broken = rng.choice(ledger.index, 40, replace=False)
    ledger.loc[broken[:20], "closing_qty"] += rng.integers(-5, 6, 20) * 2 + 1
    ledger.loc[broken[20:], "opening_qty"] -= 3
    return {**month, "orders": orders, "cs_tickets": tickets, "stock_ledger": ledger}


def write(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def run(folder: Path, tmp: Path, engine: str, *extra: str, monkeypatch, capsys) -> tuple:
    monkeypatch.setenv("OPSKIT_ENGINE", engine)
    out = tmp / f"findings-{engine or 'auto'}.csv"
    out.unlink(missing_ok=True)
    argv = ["check", str(folder), "--rules", RULES, "--format", "csv", "--output", str(out), *extra]
    code = cli.main([a for a in argv if a is not None])
    err = capsys.readouterr().err
    return code, out.read_bytes() if out.exists() else None, err


def same(folder: Path, tmp: Path, *extra: str, monkeypatch, capsys) -> tuple[bool, tuple]:
    """Both paths' answers (asserted equal) and whether the Arrow path answered."""
    shipped = run(folder, tmp, "", *extra, monkeypatch=monkeypatch, capsys=capsys)
    ordinary = run(folder, tmp, "pandas", *extra, monkeypatch=monkeypatch, capsys=capsys)
    assert shipped == ordinary
    forced = run(folder, tmp, "arrow", *extra, monkeypatch=monkeypatch, capsys=capsys)
    if forced[0] == 0:
        assert forced == ordinary
    else:
        assert "the Arrow path declined" in forced[2]
    return forced[0] == 0, ordinary


def test_the_arrow_path_answers_a_clean_month_exactly(frames, tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "2026-10", frames)
    answered, (code, text, err) = same(folder, tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert answered and code == 0
    found = pd.read_csv(pd.io.common.BytesIO(text))
    counts = found.groupby(["rule_id", "message_id"]).size().to_dict()
    # every outcome of every rule is among the findings compared
    assert {("ORD-003", "late"), ("ORD-003", "open"), ("CS-001", "late"), ("CS-001", "open")} <= set(counts)
    assert {("STK-007", "arithmetic"), ("STK-007", "carry")} <= set(counts)
    assert len(found) > 250
    assert "重复出现的后续行" in err  # the generator's repeated order ids, said the same way


@pytest.mark.parametrize(
    "extra",
    [
        ("--lang", "en"),
        ("--month", "2026-10"),
        ("--month", "2026年10月"),
        ("--rules", "STK-007"),
        ("--rules", "cs-001 , ORD-003"),
    ],
    ids=["english", "month", "month-in-chinese", "one-rule", "spelled-loosely"],
)
def test_the_arrow_path_answers_every_way_the_command_is_spelled(frames, tmp_path, monkeypatch, capsys, extra):
    folder = write(tmp_path / "2026-10", frames)
    answered, (code, _, _) = same(folder, tmp_path, *extra, monkeypatch=monkeypatch, capsys=capsys)
    assert answered and code == 0


def test_a_policy_is_obeyed_or_declined(frames, tmp_path, monkeypatch, capsys):
    folder = write(tmp_path / "2026-10", frames)
    tighter = tmp_path / "tighter.yaml"
    tighter.write_text("rules:\n  ORD-003: {limit: 12}\n  STK-007: {limit: 2}\n  CS-001: {limit: 30}\n")
    answered, (code, text, _) = same(folder, tmp_path, "--policy", str(tighter), monkeypatch=monkeypatch, capsys=capsys)
    assert answered and code == 0 and b"12" in text
    for policy in ("rules:\n  CS-001: {clock: business}\n", "rules:\n  ORD-003: {by_channel: {wechat: 48}}\n"):
        path = tmp_path / "other.yaml"
        path.write_text(policy)
        answered, (code, _, _) = same(folder, tmp_path, "--policy", str(path), monkeypatch=monkeypatch, capsys=capsys)
        assert not answered and code == 0


def _strings(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.assign(**{column: frame[column].astype("object")})


def _case(frames: dict[str, pd.DataFrame], name: str) -> dict[str, pd.DataFrame]:
    """The month broken in one way (see `CASES`)."""
    f = {k: v.copy() for k, v in frames.items()}
    o, t, led, p = f["orders"], f["cs_tickets"], f["stock_ledger"], f["products"]
    if name == "repeated-ticket":
        f["cs_tickets"] = pd.concat([t, t.iloc[[3]]], ignore_index=True)
    elif name == "repeated-ledger-row":
        f["stock_ledger"] = pd.concat([led, led.iloc[[5]].assign(closing_qty=led.iloc[5]["closing_qty"] + 9)])
    elif name == "padded-order-id":
        o.loc[7, "order_id"] = " " + o.loc[7, "order_id"]
    elif name == "full-width-padded-id":
        o.loc[7, "order_id"] = o.loc[7, "order_id"] + "\u3000"
    elif name == "channel-in-chinese":
        o.loc[9, "channel"] = "天猫"
    elif name == "excel-error-id":
        t.loc[2, "ticket_id"] = "#N/A"
    elif name == "blank-required-value":
        o.loc[11, "channel"] = None
    elif name == "negative-quantity":
        led.loc[4, "in_qty"] = -1
    elif name == "ledger-date-with-time":
        led.loc[6, "date"] = led.loc[6, "date"] + pd.Timedelta(hours=3)
    elif name == "zoned-times":
        o["paid_at"] = o["paid_at"].dt.tz_localize("Asia/Shanghai")
    elif name == "times-as-text":
        o["shipped_at"] = o["shipped_at"].dt.strftime("%Y/%m/%d %H:%M")
    elif name == "quantities-as-floats":
        f["stock_ledger"] = led.astype({"out_qty": "float64"})
    elif name == "repeated-product":
        f["products"] = pd.concat([p, p.iloc[[0]]], ignore_index=True)
    elif name == "totals-row":
        total = {c: None for c in o.columns} | {
            "order_id": "合计",
            "channel": "tmall",
            "created_at": o["created_at"][0],
        }
        f["orders"] = pd.concat([o, pd.DataFrame([total])], ignore_index=True)
    elif name == "chinese-headers":
        f["orders"] = o.rename(columns={"order_id": "订单号", "paid_at": "付款时间"})
    elif name == "another-month-mostly":
        f["cs_tickets"] = t.assign(created_at=t["created_at"] - pd.Timedelta(days=40))
        f["orders"] = o.assign(created_at=o["created_at"] - pd.Timedelta(days=40))
    elif name == "no-ledger":
        del f["stock_ledger"]
    elif name == "no-products":
        del f["products"]
    else:
        raise AssertionError(name)
    return f


CASES = {  # case → whether the Arrow path answers it
    "repeated-ticket": True,
    "repeated-ledger-row": True,
    "no-products": True,
    "padded-order-id": False,
    "full-width-padded-id": False,
    "channel-in-chinese": False,
    "excel-error-id": False,
    "blank-required-value": False,
    "negative-quantity": False,
    "ledger-date-with-time": False,
    "zoned-times": False,
    "times-as-text": False,
    "quantities-as-floats": False,
    "repeated-product": False,
    "totals-row": False,
    "chinese-headers": True,
    "another-month-mostly": False,
    "no-ledger": False,
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_broken_export_gets_the_ordinary_answer(frames, tmp_path, monkeypatch, capsys, name):
    folder = write(tmp_path / "2026-10", _case(frames, name))
    answered, (code, _, err) = same(folder, tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert answered == CASES[name], err


def test_other_folders_and_formats_take_the_ordinary_path(frames, tmp_path, monkeypatch, capsys):
    root = tmp_path / "root"
    write(root / "2026-10", frames)
    answered, (code, _, _) = same(root, tmp_path, "--month", "2026-10", monkeypatch=monkeypatch, capsys=capsys)
    assert not answered and code == 0  # a data root: the month before is read too
    (root / "2026-10" / "opskit.yaml").write_text("datasets:\n  orders: orders.parquet\n")
    answered, _ = same(root / "2026-10", tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert not answered
    answered, (code, _, _) = same(SAMPLES / "2026-10", tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert not answered and code == 0  # CSV exports
    answered, (code, _, err) = same(
        root / "2026-10", tmp_path, "--month", "2026-09", monkeypatch=monkeypatch, capsys=capsys
    )
    assert not answered and code == 2 and "2026-09" in err
    monkeypatch.setenv("OPSKIT_ENGINE", "arrow")
    for extra in (["--format", "json"], ["--summary"], ["--as-of", "2026-10-20 12:00"], ["--rules", "ORD"]):
        argv = ["check", str(root / "2026-10"), "--rules", RULES, *extra]
        assert cli.main(argv) == 2
        assert "the Arrow path declined" in capsys.readouterr().err


def test_the_arrow_measures_read_what_the_rules_read():
    """The Arrow path reads (and checks) exactly the columns the rule declares, cuts the same datasets
    to the month's first records by the same key, and renders the same message parameters."""
    import importlib

    from opskit.rule import all_rules, columns_needed, month_first_needed
    from opskit.schema import DATASETS

    for rule_id, module_name in ARROW_RULES.items():
        module = importlib.import_module(module_name)
        assert {d: set(c) for d, c in module.READS.items()} == columns_needed([rule_id])
        first = month_first_needed([rule_id])
        assert ({module.MONTH_FIRST[0]: module.MONTH_FIRST[1:3]} if module.MONTH_FIRST else {}) == first
        assert rule_id in all_rules()
    from opskit.parsing import parse_enum

    for ds in DATASETS.values():  # a code is its own parsed value: the Arrow path keeps codes as they are
        for col in ds.columns:
            if col.kind == "enum":
                codes = pd.Series(list(col.values or {}), dtype="str")
                assert parse_enum(codes, col.values)[0].astype("str").tolist() == codes.tolist()


def test_the_command_answers_without_importing_pandas(frames, tmp_path):
    folder = write(tmp_path / "2026-10", frames)
    out = tmp_path / "f.csv"
    env = {**os.environ, "OPSKIT_ENGINE": "arrow"}
    command = [sys.executable, "-X", "importtime", "-m", "opskit.cli", "check", str(folder), "--rules", RULES]
    done = subprocess.run(
        command + ["--format", "csv", "--output", str(out)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pyarrow.compute" in imported and "pyarrow.dataset" not in imported
    assert not [
        name for name in imported if name.startswith("pandas.")
    ]  # pandas was asked for (by pyarrow), never loaded
    env["OPSKIT_ENGINE"] = "pandas"
    again = tmp_path / "g.csv"
    subprocess.run(
        command[:1] + command[3:] + ["--format", "csv", "--output", str(again)], check=True, env=env, cwd=ROOT
    )
    assert out.read_bytes() == again.read_bytes()
    # declining in a process that hid pandas gives pyarrow its pandas support back: the ordinary path runs whole
    (folder / "opskit.yaml").write_text("datasets:\n  orders: orders.parquet\n")
    env.pop("OPSKIT_ENGINE")
    third = tmp_path / "h.csv"
    subprocess.run(
        command[:1] + command[3:] + ["--format", "csv", "--output", str(third)], check=True, env=env, cwd=ROOT
    )
    assert third.read_bytes() == again.read_bytes()
    shutil.rmtree(folder)
