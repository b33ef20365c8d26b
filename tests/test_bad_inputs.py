"""Every case of the bad-input corpus loads correctly or is refused with one message naming file,
row and column — never a traceback, never a silent drop. The tally is printed at the end of the run."""

import contextlib
import io
from pathlib import Path

import pytest
import yaml

import opskit
from opskit import OpskitError
from opskit.cli import main

CASES = sorted(p for p in (Path(__file__).parent / "bad_inputs" / "cases").iterdir() if p.is_dir())
TALLY = {"loaded": 0, "refused": 0}


def test_the_corpus_is_what_the_script_writes():
    import make_corpus  # noqa: F401  (tests/bad_inputs is on the path via conftest)

    assert len(CASES) >= 30
    assert all((case / "expect.yaml").exists() for case in CASES)


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
def test_bad_input(folder):
    expect = yaml.safe_load((folder / "expect.yaml").read_text(encoding="utf-8"))
    try:
        data = opskit.load(folder)
        failure = None
        if "check_error" in expect:  # loads, but the audit it would make is refused
            with pytest.raises(OpskitError, match=expect["check_error"]):
                opskit.run_checks(data, month="2026-10")
        else:
            result = opskit.run_checks(data, month="2026-10")
    except OpskitError as exc:  # anything else is a crash, and fails the test with its traceback
        failure = exc
    if "load" in expect:
        assert failure is None, f"expected a load, got: {failure}"
        (frame,) = [data[name] for name in data]
        assert len(frame) == expect["load"]
        assert list(frame["_row"]) == sorted(frame["_row"])
        if "notice" in expect:
            assert any(expect["notice"] in n for n in result.notices), result.notices
        TALLY["loaded"] += 1
    else:
        assert failure is not None, "expected the input to be refused"
        assert expect["error"] in str(failure)
        if expect.get("row") is not None:
            assert failure.row == expect["row"], str(failure)
        if expect.get("column") is not None:
            assert expect["column"] in failure.column, str(failure)
        TALLY["refused"] += 1
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["check", str(folder), "--month", "2026-10"])
    assert code == (0 if "load" in expect and "check_error" not in expect else 2)
    assert "Traceback" not in stderr.getvalue()
    for key in ("error", "check_error"):
        if key in expect:
            assert stderr.getvalue().startswith("opskit check: ") and expect[key] in stderr.getvalue()
