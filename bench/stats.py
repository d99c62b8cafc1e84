"""Small statistics helpers for the benchmark: median and spread of repeated runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (q in [0, 1]) of a non-empty sequence."""
    xs = sorted(values)
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, Any]:
    """n, median, p10, p90, min, max of ``values`` (NaN when empty)."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not xs:
        return {"n": 0, "median": math.nan, "p10": math.nan, "p90": math.nan,
                "min": math.nan, "max": math.nan}
    return {
        "n": len(xs),
        "median": quantile(xs, 0.5),
        "p10": quantile(xs, 0.1),
        "p90": quantile(xs, 0.9),
        "min": min(xs),
        "max": max(xs),
    }


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    """A number with its unit, or "-" (str)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 and digits <= 1 else f"{value:,.{digits}f}"
    return f"{text} {unit}".rstrip()


def spread(s: dict[str, Any], unit: str = "", digits: int = 1) -> str:
    """``p10-p90 (min-max)`` for n >= 5, else ``min-max`` (rendered with en dashes)."""
    if not s or s.get("n", 0) == 0:
        return "-"

    def f(v: float) -> str:
        return fmt(v, "", digits)

    u = f" {unit}" if unit else ""
    if s["n"] >= 5:
        return f"p10–p90 {f(s['p10'])}–{f(s['p90'])}{u} (min–max {f(s['min'])}–{f(s['max'])})"
    return f"min–max {f(s['min'])}–{f(s['max'])}{u}"
