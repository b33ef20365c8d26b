"""Personal data planted in every spelling people type never leaks into what managers read.

A copy of the October samples gets 48 planted values: pay accounts (cards with spaces, dashes,
dots, underscores, an 11-digit account, e-mails, phones), buyer accounts, phone numbers and
e-mails in chat lines (separators, full-width digits, +86/0086, placed where a 60-character cut
would split them), a promotion name with a phone, and a data error quoting a phone and an e-mail.
`opskit run` writes the reports (and a failing run its partial output); every file it wrote —
HTML, xlsx, csv, json, ipynb — is scanned: 0 leaks. The same values do reach the analysts' raw
findings, so the scan can fail."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from pii_corpus import CARD_ACCOUNTS, CHAT, DATA_ERROR, PLANTED, REGISTERED, leaks_in

import opskit
from opskit.batch import run_month
from opskit.cli import main


def output_texts(out: Path) -> dict[str, str]:
    texts = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as zf:
                texts[str(path)] = "\n".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".xml"))
        else:
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def test_the_planted_values_reach_the_analysts_raw_findings(planted):
    """The corpus is live: unmasked, the findings quote the planted values."""
    findings = opskit.check(opskit.load(planted, "2026-10"), month="2026-10")
    raw = "\n".join(findings["message"].astype(str))
    assert sum(bool(leaks_in(f"{v}")) for v in PLANTED) == len(PLANTED)  # the scanner finds each value
    quoted = set(leaks_in(raw))
    assert set(CARD_ACCOUNTS) <= quoted and set(REGISTERED) <= quoted and len(set(CHAT) & quoted) == len(CHAT)


def test_no_planted_value_leaks_into_any_output_of_opskit_run(planted, tmp_path, capsys):
    out = tmp_path / "reports"
    assert run_month(planted, "2026-10", out) == 0
    month = planted / "2026-10"
    text = (month / "orders.csv").read_text(encoding="gb18030").replace("天猫旗舰店", DATA_ERROR, 1)
    (month / "orders.csv").write_text(text, encoding="gb18030")
    capsys.readouterr()
    # the month is computed before anything is written: bad data stops the run, the reports stay
    assert main(["run", str(planted), "--month", "2026-10", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "orders.csv, row 2, column 渠道 (channel)" in error and "138****5698" in error
    assert not leaks_in(error), error
    assert not (out / "2026-10.failed").exists()
    texts = output_texts(out)
    kinds = {Path(p).suffix for p in texts}
    assert {".html", ".xlsx", ".csv", ".json", ".ipynb"} <= kinds
    leaks = {path: found for path, text in texts.items() if (found := leaks_in(text))}
    assert leaks == {}, leaks
    assert not any(re.search(r"(/tmp/|/root/|/home/|/work/)", t) for p, t in texts.items() if p.endswith(".ipynb"))
    print(f"PII corpus: {len(PLANTED)} planted values, {len(texts)} output files scanned, {len(leaks)} leaks")
