"""Repeated keys found on 64-bit words of the key text instead of a hash table of Python-visible strings.

`Series.duplicated` on a million Arrow strings factorizes them (about 0.2 s of CPU); ids such as
order numbers are short ASCII text, so here each id is padded to whole 8-byte words (one Arrow pass
per chunk), the words are mixed into one 64-bit number, and only numbers that repeat are compared
as text. The answer is exactly `duplicated(keep="first")`: equal ids always mix to equal numbers,
and the rare equal numbers of different ids are told apart by the text comparison. Chunks are
handled one at a time, so the extra memory is one chunk's padded copy plus 8 bytes a row.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_MAX_WIDTH = 64  # ids longer than this (bytes) go through pandas
_MIX = np.uint64(0x9E3779B97F4A7C15)


def repeated(values: pd.Series) -> np.ndarray:
    """True on each row whose value already appeared on an earlier row (`duplicated(keep="first")`)."""
    arrow = getattr(values.array, "_pa_array", None)
    found = repeated_arrow(arrow) if arrow is not None else None
    return values.duplicated(keep="first").to_numpy() if found is None else found


def repeated_arrow(arrow, trim: bool = False) -> np.ndarray | None:
    """`repeated` for an Arrow string (chunked) array, its values stripped of surrounding white
    space first when `trim`; None when the ids are not short ASCII text without gaps (use pandas)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arrow) == 0 or arrow.null_count:
        return None
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        return None
    chunks = arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]
    longest = pc.max(pc.binary_length(arrow)).as_py()  # one width for every chunk: equal ids, equal words
    if longest > _MAX_WIDTH:
        return None
    width = max(8, (longest + 7) // 8 * 8)

    def number(chunk) -> np.ndarray | None:
        words = _words(pc.utf8_trim_whitespace(chunk) if trim else chunk, width)
        return None if words is None else _mix(*words)

    mixed = both_cores(number, chunks)
    if any(m is None for m in mixed):
        return None
    numbers = np.concatenate(mixed) if len(mixed) != 1 else mixed[0]
    maybe = repeating(numbers)
    out = np.zeros(len(numbers), dtype=bool)
    if maybe.any():
        rows = np.flatnonzero(maybe)
        text = arrow.take(pa.array(rows))
        text = pc.utf8_trim_whitespace(text) if trim else text
        _, first = np.unique(np.array(text.to_pylist(), dtype=object), return_index=True)
        later = np.ones(len(rows), dtype=bool)
        later[first] = False  # each distinct text's first row among the candidates is not a repeat
        out[rows[later]] = True
    return out


def repeating(numbers: np.ndarray, bits: int = 24) -> np.ndarray:
    """True on every row whose number occurs more than once (`duplicated(keep=False)`).

    A hash table of ten million random 64-bit numbers misses the processor's caches on nearly every
    row (pandas: 2.8 s for the 15M order and ticket ids of a 10M-order month). Sorting a copy (its two
    halves by top bit, one per core) finds the numbers that repeat in about a third of that; rows are
    then matched against those few with a 2^`bits` table of their low bits first, so only candidates
    are looked up exactly.
    """
    if len(numbers) < 2:
        return np.zeros(len(numbers), dtype=bool)
    high = numbers >= np.uint64(1 << 63)  # equal numbers share their top bit: the halves sort apart
    twice = np.concatenate(both_cores(_repeats_sorted, [numbers[~high], numbers[high]]))  # low half first
    del high
    if not len(twice):
        return np.zeros(len(numbers), dtype=bool)
    low = np.uint64((1 << bits) - 1)
    table = np.zeros(1 << bits, dtype=bool)
    table[(twice & low).astype(np.intp)] = True
    step = 1 << 20  # a million rows at a time: the temporaries stay small beside the loaded frames
    candidates = np.concatenate(
        [
            np.flatnonzero(table[(numbers[start : start + step] & low).astype(np.intp)]) + start
            for start in range(0, len(numbers), step)
        ]
    )
    values = numbers[candidates]
    at = np.searchsorted(twice, values)
    at[at == len(twice)] = 0
    out = np.zeros(len(numbers), dtype=bool)
    out[candidates[twice[at] == values]] = True
    return out


def _repeats_sorted(numbers: np.ndarray) -> np.ndarray:
    """The numbers that occur more than once, sorted, each once."""
    ordered = np.sort(numbers)
    same = ordered[1:] == ordered[:-1]
    return np.unique(ordered[1:][same])


def both_cores(work, items: list) -> list:
    """`[work(item) for item in items]`, two at a time: Arrow's kernels and numpy's sort and
    arithmetic release the interpreter lock, so the second core works while the first does (a load
    otherwise runs on one core of two)."""
    if len(items) < 2 or (os.cpu_count() or 1) < 2:
        return [work(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(work, items))


def positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Where each of `values` stands in `keys` (unique), -1 where it is absent: the row lookup of a
    left join on a unique key. On Arrow text it runs Arrow's hash kernel over the Arrow arrays; a
    pandas index of Arrow strings would first make a Python string of every value on both sides."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    left, right = getattr(values.array, "_pa_array", None), getattr(keys.array, "_pa_array", None)
    if left is None or right is None or left.type != right.type:
        return pd.Index(keys).get_indexer(values)
    right = right.combine_chunks() if isinstance(right, pa.ChunkedArray) else right
    found = pc.index_in(left, value_set=right).fill_null(-1)
    return found.to_numpy().astype(np.intp)


def _words(chunk, width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each value as a row of `width // 8` uint64 words (zero-padded ASCII) and its length; None when
    not plain ASCII."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(chunk) == 0:
        return np.zeros((0, 1), dtype=np.uint64), np.zeros(0, dtype=np.uint64)
    if not pc.all(pc.string_is_ascii(chunk)).as_py():
        return None
    lengths = pc.binary_length(chunk)
    padded = pc.ascii_rpad(chunk, width=width, padding="\x00")
    offsets_type = np.int64 if pa.types.is_large_string(padded.type) else np.int32
    _, offsets, data = padded.buffers()
    offsets = np.frombuffer(offsets, offsets_type)[padded.offset : padded.offset + len(padded) + 1]
    body = np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]]
    return body.view(np.uint64).reshape(len(padded), width // 8), lengths.to_numpy().astype(np.uint64)


def _mix(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One 64-bit number per row; the length is mixed in so `A` and `A\\0` differ."""
    mixed = lengths * _MIX
    for i in range(words.shape[1]):
        mixed ^= words[:, i]
        mixed *= _MIX
        mixed ^= mixed >> np.uint64(29)
    return mixed
