"""How a month's reports reach `OUT/MONTH/` without ever losing a good one.

The batch (`batch.py`) computes; this module owns the mechanics around it, one function each:

- `MonthLock` — one run per month and output folder at a time; a second is refused, named. The
  lock is an `flock` on `OUT/.MONTH.lock`, so the kernel releases it when its holder dies (even by
  `kill -9`): there is never a stale lock to remove by hand.
- `remove_stale_staging` — staging folders left by killed runs of this month; safe while we hold
  the month's lock, since no live run can own them.
- `publish` — the swap: `renameat2(RENAME_EXCHANGE)` exchanges the staging folder and the month
  folder in one atomic step (a reader sees the old complete folder or the new one, never neither);
  the old one is then deleted from where the staging folder was.
- `publish_failed` — a run that failed puts its partial output beside the month, in
  `OUT/MONTH.failed/`, and leaves the previous complete `OUT/MONTH/` as it was.
- `fingerprint` / `changed_inputs` — the size and SHA-256 of every input file, taken before the
  run and compared after it: a file replaced mid-run is named and the run does not publish.
- `worker_dies_with_parent` — pool workers get `PR_SET_PDEATHSIG`, so killing the main process
  kills them; their kernels poll their parent (`JPY_PARENT_PID`) and exit within a second.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from .errors import OpskitError

RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100
_PR_SET_PDEATHSIG = 1
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class MonthLock:
    """Exclusive right to write `OUT/MONTH`; refused at once (naming the holder) when another run has it."""

    def __init__(self, out: Path, month: str) -> None:
        self.path = out / f".{month}.lock"
        self.month, self.out = month, out
        self._fd: int | None = None

    def __enter__(self) -> MonthLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OpskitError(f"cannot write to {self.out}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OpskitError(
                f"another opskit run of {self.month} into {self.out} is running ({holder}); "
                "wait for it to finish, or stop it, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays (removing it would race)
            self._fd = None


def staging_prefix(month: str) -> str:
    return f".{month}.staging-"


def new_staging(out: Path, month: str, mode: int) -> Path:
    staging = Path(tempfile.mkdtemp(dir=out, prefix=staging_prefix(month)))
    staging.chmod(mode)
    return staging


def remove_stale_staging(out: Path, month: str) -> list[str]:
    """Staging and swap leftovers of earlier, killed runs of `month` (call while holding its lock)."""
    removed = []
    for path in sorted(out.glob(f".{month}.*")):
        if path.is_dir() and not path.is_symlink() and path.name.startswith((staging_prefix(month), f".{month}.old-")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def _renameat2(source: Path, target: Path, flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def exchange(source: Path, target: Path) -> None:
    """Put `source` at `target` in one atomic step; what was at `target` ends up at `source`."""
    if not target.exists():
        try:
            _renameat2(source, target, RENAME_NOREPLACE)
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno == errno.EEXIST:
                raise
            os.rename(source, target)  # no renameat2 here: the month lock still keeps other runs out
        return
    try:
        _renameat2(source, target, RENAME_EXCHANGE)
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise
        # A file system without RENAME_EXCHANGE: two renames, still under the month lock.
        aside = source.with_name(source.name + ".old")
        os.rename(target, aside)
        os.rename(source, target)
        os.rename(aside, source)


def publish(staging: Path, final: Path) -> None:
    """The staging folder becomes the month folder atomically; the previous one is then deleted."""
    exchange(staging, final)
    shutil.rmtree(staging, ignore_errors=True)  # now holds the previous reports


def failed_folder(final: Path) -> Path:
    return final.with_name(f"{final.name}.failed")


def publish_failed(staging: Path, final: Path) -> Path:
    """A failed run's partial output beside the month folder (replacing an older failed one)."""
    target = failed_folder(final)
    exchange(staging, target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def remove_failed(final: Path) -> None:
    """A complete run supersedes the partial output of an earlier failed one."""
    shutil.rmtree(failed_folder(final), ignore_errors=True)


# --------------------------------------------------------------------------- inputs


def input_files(data_root: Path) -> list[Path]:
    """Every regular file the reviews may read: the data root's files and its month folders'."""
    files = []
    for path in sorted(data_root.rglob("*")):
        relative = path.relative_to(data_root)
        if any(part.startswith(".") for part in relative.parts) or len(relative.parts) > 2:
            continue
        if path.is_file():
            files.append(path)
    return files


def fingerprint(data_root: Path) -> dict[str, dict[str, object]]:
    """Size and SHA-256 of each input file, by its path under the data root (recorded in kpis.json)."""
    prints = {}
    for path in input_files(data_root):
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        prints[path.relative_to(data_root).as_posix()] = {"bytes": size, "sha256": digest.hexdigest()}
    return prints


def changed_inputs(data_root: Path, before: dict[str, dict[str, object]]) -> list[str]:
    """What changed in the inputs since `before`, one phrase per file."""
    after = fingerprint(data_root)
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            changes.append(f"{name} appeared")
        elif new is None:
            changes.append(f"{name} was removed")
        elif old["bytes"] != new["bytes"]:
            changes.append(f"{name} changed ({old['bytes']:,} → {new['bytes']:,} bytes)")
        else:
            changes.append(f"{name} changed (same size, different content)")
    return changes


# --------------------------------------------------------------------------- processes and disks


def worker_dies_with_parent(parent: int) -> None:
    """Pool initializer: the kernel kills this worker when the main process dies, however it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (AttributeError, OSError):  # not Linux: workers end when their task queue closes
        return
    if os.getppid() != parent:  # the parent died before the setting took effect
        os._exit(1)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


def disk_full_error(exc: OSError, path: Path | str | None, final: Path) -> OpskitError:
    """One paragraph: which file could not be written, and that the previous reports are intact."""
    where = exc.filename or path or final.parent
    return OpskitError(
        f"no space left on the device writing {where}; the previous reports in {final} are untouched "
        f"and this run's partial output was removed. Free some space on {final.parent} and run again"
    )
