"""Reading the small YAML files a user hands opskit (a policy, a folder's `opskit.yaml` manifest).

A configuration file is trusted with nothing: it is opened without blocking and must be a regular
file (a FIFO would hang the run, `/dev/zero` would never end), it is read up to a size limit, decoded
as UTF-8, and its YAML event stream is checked for depth and aliases *before* anything is built from
it — deep nesting overflows the composer's recursion (and can crash the interpreter) and alias
chains ("billion laughs") expand to gigabytes. Only then is it read by the safe loader. Every
refusal is one message naming the file.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 256 * 1024  # a policy or manifest is a page of text; anything larger is not one
MAX_DEPTH = 12  # the deepest legitimate setting is rules → id → by_channel → channel (4 levels)
MAX_EVENTS = 50_000
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C build of the safe loader, when present
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _read_bytes(path: Path, fail: Callable[[str], Exception]) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise fail(f"cannot open the file ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((label for test, label in _KINDS if test(mode)), "not a regular file")
            raise fail(f"is {kind}, not a regular file; give the path of a YAML text file")
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror})") from None
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        raise fail(f"is larger than {MAX_BYTES // 1024} KiB; a configuration file is a page of YAML")
    return b"".join(chunks)


def _decode(data: bytes, fail: Callable[[str], Exception]) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise fail(f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from None
    if "\x00" in text:
        raise fail("contains a NUL character; it is not a text file")
    return text


def _check_events(text: str, fail: Callable[[str], Exception]) -> None:
    """Walk the parser's event stream (no objects built): refuse aliases, anchors, tags and deep nesting."""
    depth = 0
    try:
        for count, event in enumerate(yaml.parse(text, Loader=_SAFE_LOADER), start=1):
            line = (event.start_mark.line + 1) if event.start_mark else "?"
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise fail(f"line {line}: YAML anchors and aliases (&, *) are not accepted; write values out")
            if getattr(event, "tag", None) is not None:  # only tags written in the file are set here
                raise fail(f"not valid YAML: line {line}: tags such as {event.tag} are not accepted")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise fail(f"line {line}: nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if count > MAX_EVENTS:
                raise fail(f"holds more than {MAX_EVENTS:,} YAML items; a configuration file is a page of YAML")
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # libyaml's own limit (1,000 levels) met before ours
            raise fail(f"nested more than {MAX_DEPTH} levels deep") from None
        raise fail(f"not valid YAML: {_yaml_problem(exc)}") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def read_config(path: str | Path, fail: Callable[[str], Exception]) -> Any:
    """The YAML document in `path` as plain Python values (dicts, lists, str, int, float, bool, None,
    dates); `fail(problem)` builds the exception raised, so the caller decides how the file is named."""
    text = _decode(_read_bytes(Path(path), fail), fail)
    _check_events(text, fail)
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise fail(f"not valid YAML: {_yaml_problem(exc)}") from None
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:  # e.g. an int of 5,000 digits
        raise fail(f"a value cannot be read: {str(exc).splitlines()[0][:120]}") from None


def finite_number(value: Any, where: str, fail: Callable[[str], Exception], *, low: float, high: float) -> float:
    """A real, finite number in [low, high] (bools, text, NaN, ±inf and 400-digit integers refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"{where}: expected a number, got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise fail(f"{where}: {str(value)[:20]}… is too large (at most {high:g})") from None
    if math.isnan(number) or math.isinf(number):
        raise fail(f"{where}: expected a finite number, got {value!r}")
    if not low <= number <= high:
        raise fail(f"{where}: {number:g} is out of range (expected {low:g} to {high:g})")
    return number


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'…' if len(text) > 60 else ''}"
