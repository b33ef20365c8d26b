import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "bad_inputs"))

# Computed months are cached per test run, never in the user's cache (subprocesses inherit this).
_CACHE = None if os.environ.get("OPSKIT_CACHE") else tempfile.mkdtemp(prefix="opskit-test-cache-")
if _CACHE:
    os.environ["OPSKIT_CACHE"] = _CACHE


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """A data root with the personal-data corpus planted in October (`pii_corpus`), one per test module."""
    from pii_corpus import planted_root

    return planted_root(tmp_path_factory.mktemp("pii") / "data")


def pytest_sessionfinish(session, exitstatus):
    if _CACHE:
        shutil.rmtree(_CACHE, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    corpus = sys.modules.get("test_bad_inputs")
    if corpus and sum(corpus.TALLY.values()):
        tally = corpus.TALLY
        terminalreporter.write_line(
            f"bad-input corpus: {len(corpus.CASES)} cases, {tally['loaded']} loaded correctly, "
            f"{tally['refused']} refused with one message naming the file (and row and column where there is one)"
        )
    hostile = sys.modules.get("test_hostile_config")
    if hostile and sum(hostile.TALLY.values()):
        terminalreporter.write_line(
            f"hostile configuration: {hostile.TALLY['policy']} policy files and {hostile.TALLY['manifest']} manifests "
            "refused with exit 2 and one message, no traceback, hang or crash"
        )
    batch = sys.modules.get("test_batch_publish")
    if batch and batch.FAULTS:
        terminalreporter.write_line(
            f"batch faults: {len(batch.FAULTS)} ({', '.join(batch.FAULTS)}): previous reports intact, "
            "0 stray folders after the next run"
        )
