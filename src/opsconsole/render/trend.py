"""A check's trend as text: a sparkline of its values and the change over a window.

Used by the console's tiles and check detail and by ``opsconsole check`` (text output); the
samples come from :class:`opsconsole.checks.history.History`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime, timedelta
from operator import attrgetter

from opsconsole.checks.engine import human_duration
from opsconsole.checks.history import Sample

BLOCKS = "▁▂▃▄▅▆▇█"
_at: attrgetter[datetime] = attrgetter("at")
WINDOWS_S = (300.0, 900.0, 3600.0, 86400.0)
"""The windows the check detail cycles through: 5 min, 15 min, 1 h, 24 h (s)."""
GAP_S = 600.0
"""No sample for longer than this (s): the console was not running; the line shows a gap."""


def sparkline(samples: Sequence[Sample], width: int = 20) -> str:
    """The last ``width`` values as block characters, lowest ▁ to highest █ (str; a space for
    a sample without a value; "" for no samples).

    >>> sparkline([Sample(None, v, None) for v in (0, 5, 10)], 3)  # type: ignore[arg-type]
    '▁▅█'
    """
    values = [s.value for s in samples[-width:]] if width > 0 else []
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(" ")
        elif span == 0:
            out.append(BLOCKS[0] if high == 0 else BLOCKS[3])
        else:
            out.append(BLOCKS[round((v - low) / span * (len(BLOCKS) - 1))])
    return "".join(out)


def resample(samples: Sequence[Sample], width: int, gap_s: float = GAP_S) -> list[Sample]:
    """At most ``width`` samples spread evenly in time over ``samples`` (oldest first).

    With ``width`` samples or fewer, they are returned as they are (one cell each: a trend
    shows after a few refreshes). Otherwise the time from the first to the last sample is cut
    into ``width`` equal buckets, each represented by its newest sample. An empty bucket shows
    the value before it, unless no sample was taken for more than ``gap_s`` around it (the
    console was closed): then it is a sample without a value, drawn as a gap.

    Returns:
        list[Sample] of length ``min(width, len(samples))``.
    """
    if width <= 0:
        return []
    if len(samples) <= width:
        return list(samples)
    first, last = samples[0].at, samples[-1].at
    span = (last - first) or timedelta(seconds=1)
    out: list[Sample] = []
    newest = -1  # the index of the newest sample of the buckets so far
    for bucket in range(width):  # a bisection per cell: a tile costs microseconds, not a scan
        end = first + span * (bucket + 1) / width
        at = len(samples) - 1 if bucket == width - 1 else bisect_left(samples, end, key=_at) - 1
        if at > newest:
            out.append(samples[at])
            newest = at
            continue
        nxt = samples[min(newest + 1, len(samples) - 1)]
        gap = (nxt.at - samples[newest].at).total_seconds() > gap_s
        out.append(Sample(first, None, samples[-1].status) if gap else out[-1])
    return out


def window_label(window_s: float) -> str:
    """``45 s``, ``5 min``, ``15 min``, ``1 h``, ``24 h`` (str; rounded to the unit).

    >>> [window_label(s) for s in (45, 300, 3600, 86400)]
    ['45 s', '5 min', '1 h', '24 h']
    """
    if window_s < 60:
        return f"{round(window_s)} s"
    if window_s < 3600:
        return f"{round(window_s / 60)} min"
    return f"{round(window_s / 3600)} h"


def change_text(delta: tuple[float, float] | None, unit: str = "") -> str:
    """``+38 in 15m 0s``, ``-2.50 % in 1h 0m``, ``no change in 5m 0s`` ("" without a delta).

    Args:
        delta: (change in the check's unit, seconds spanned), from ``History.delta``.
        unit: the check's unit; "s" renders the change as a duration.

    >>> change_text((38, 900), "jobs")
    '+38 jobs in 15m 0s'
    >>> change_text((-7200, 3600), "s")
    '-2h 0m in 1h 0m'
    """
    if delta is None:
        return ""
    change, span_s = delta
    window = human_duration(span_s)
    if change == 0:
        return f"no change in {window}"
    sign = "+" if change > 0 else "-"
    size = abs(change)
    if unit == "s":
        amount = human_duration(size)
    else:
        number = f"{int(size)}" if float(size).is_integer() else f"{size:.2f}"
        amount = f"{number} {unit}".strip()
    return f"{sign}{amount} in {window}"
