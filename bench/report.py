"""Render bench/results.json as bench/RESULTS.md.

This is the frame: the machine, the commands, the databases, the headline table of figures (one
row per figure, met or not against its target, and for each miss where DIAGNOSIS.md explains
it), then each section's details. What a section reports, and against which target, is written
next to how it measures, in ``sections/<name>.py`` (``figures`` and ``details``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from stats import fmt, spread

KB = 1024


def met_text(ok: bool | None) -> str:
    return "-" if ok is None else ("**met**" if ok else "**NOT met**")


def ok(value: float | None, limit: float, *, below: bool = True) -> bool | None:
    """Whether ``value`` is within ``limit`` (None when not measured)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value <= limit if below else value >= limit


def median(s: dict[str, Any] | None) -> float | None:
    return s.get("median") if s else None


def cell(s: dict[str, Any] | None, unit: str = "", digits: int = 1) -> str:
    """``median (spread)`` of a summary, or "-"."""
    return f"{fmt(s['median'], unit, digits)} ({spread(s, '', digits)})" if s else "-"


def _diagnosis_headings(notes: str | None) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{2,4} +(.+)$", notes or "", re.M)]


class Figures:
    """The headline table: one row per figure.

    Args:
        notes: DIAGNOSIS.md as copied into the results; a figure that misses its target points
            to its heading there (the heading that starts with the figure's number), or says
            that it is not diagnosed yet.
    """

    def __init__(self, notes: str | None = None) -> None:
        self.rows: list[str] = []
        self.headings = _diagnosis_headings(notes)

    def _pointer(self, no: str) -> str:
        for h in self.headings:
            if h.startswith(f"{no}.") or h.startswith(f"{no} "):
                return f"→ DIAGNOSIS.md “{h[:60]}{'…' if len(h) > 60 else ''}”"
        return "→ DIAGNOSIS.md: not diagnosed yet"

    def add(self, no: str, label: str, s: dict[str, Any] | None, unit: str, target: str,  # noqa: PLR0917
            met: bool | None, digits: int = 1, note: str = "") -> None:
        if not s or s.get("n", 0) == 0:
            self.rows.append(f"| {no} | {label} | not measured | | | {target} | - | {note} |")
            return
        if met is False:
            note = f"{note}; {self._pointer(no)}" if note else self._pointer(no)
        self.rows.append(
            f"| {no} | {label} | {fmt(s['median'], unit, digits)} | {spread(s, '', digits)} "
            f"| {s['n']} | {target} | {met_text(met)} | {note} |")

    def text(self) -> str:
        head = ("| # | figure | median | spread | n | target | met? | note |\n"
                "| --- | --- | --- | --- | --- | --- | --- | --- |\n")
        return head + "\n".join(self.rows) + "\n"


def section_data(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    sec = results.get("sections", {}).get(name)
    return sec["data"] if sec else None


def meta_line(results: dict[str, Any], name: str) -> str:
    """When, on which commit, at which load and by which command a section was measured."""
    sec = results.get("sections", {}).get(name)
    if not sec:
        return "_not measured_\n"
    load = sec["load_before"]
    dirty = sec["git"].get("dirty_files") or []
    dirty_text = f", uncommitted product changes in {', '.join(dirty)}" if dirty else ""
    during = sec.get("load_during")
    during_text = ""
    if during and during.get("samples"):
        ld, busy = during["load1"], during["cpu_busy_pct"]
        during_text = (f"; during it 1-min load median {fmt(ld['median'], '', 2)} (max "
                       f"{fmt(ld['max'], '', 2)}), CPU busy median {fmt(busy['median'], '%', 0)}"
                       f" (max {fmt(busy['max'], '%', 0)}) of {during.get('cores')} cores")
    quick = " **--quick: development repetitions, not a measurement**;" if sec.get("quick") \
        else ""
    return (f"_Measured {sec['measured_at']} on commit {sec['git']['rev']}{dirty_text};{quick} "
            f"1-min load {load['load_at_start']:.2f} at start (waited {load['waited_s']} s), "
            f"{sec['load_after']:.2f} at the end{during_text}; took {sec['elapsed_s']} s; "
            f"`{sec['command']}`._\n")


Writer = Callable[[str], None]


def render(results: dict[str, Any], sections: list[Any]) -> str:
    """RESULTS.md for ``results``; ``sections`` are the section modules in report order."""
    m = results.get("machine", {})
    b = results.get("build", {})
    out: list[str] = []
    w = out.append
    w("# opsconsole benchmark results\n")
    quick = sorted(n for n, s in results.get("sections", {}).items() if s.get("quick"))
    if quick:
        w(f"> **Quick development run** (`--quick`) for {', '.join(quick)}: few repetitions, "
          "for checking the harness — these figures are not measurements.\n")
    w("Generated by `bench/run.py` (see bench/README.md for the method). Every figure is the "
      "median over repeated runs with its spread (p10–p90 and min–max when n ≥ 5, else "
      "min–max). Ratios are computed per run from measurements taken side by side in the same "
      "run, then summarised.\n")
    w("## Machine\n")
    w(f"- {m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_gb')} GB memory, "
      f"Linux {m.get('kernel')}; shared with other engineers' test suites (see the load per "
      "section).")
    w(f"- {m.get('postgres')}; server: {m.get('server')}; settings: "
      + ", ".join(f"{k}={v}" for k, v in sorted((m.get('pg_settings') or {}).items())))
    w(f"- Python {m.get('python')}, textual {m.get('textual')}, psycopg {m.get('psycopg')}; "
      f"product commit {m.get('git')}.\n")
    w("## Commands\n")
    w("```")
    w(results.get("last_command", "python bench/run.py"))
    for c in b.get("commands", []):
        w(c)
    w("```\n")
    for key in ("small", "large"):
        d = b.get(key)
        if not d:
            continue
        counts = ", ".join(f"{k.split('.')[1]} {v:,}" for k, v in d.get("counts", {}).items())
        built = (f"rebuilt: init {d['init_s']:.1f} s, seed {d['seed_s']:.0f} s"
                 if d.get("rebuilt") else "reused (--reuse)")
        if d.get("vacuum_s") is not None:
            built += f", VACUUM (ANALYZE) {d['vacuum_s']:.0f} s"
        w(f"- **{key}** `{d['name']}` scale {d['scale']} ({d.get('size')}; {built}): {counts}")
    w("")

    figs = Figures(results.get("notes"))
    present = [(s, section_data(results, s.NAME)) for s in sections]
    for mod, data in present:
        mod.figures(results, data, figs)
    w("## Figures\n")
    w(figs.text())
    for mod, data in present:
        if data and hasattr(mod, "after_figures"):
            mod.after_figures(data, w)
    for mod, data in present:
        if data:
            mod.details(results, data, w)
    notes = results.get("notes")
    if notes:
        w("## Diagnosis and recommendations\n")
        w(notes)
    return "\n".join(out) + "\n"
