"""Plain-text rendering of a preview and a result (the CLI; the TUI renders its own widgets).

Sample values were cleaned by :func:`opsconsole.sanitize.clean` when the preview was built.
"""

from __future__ import annotations

from typing import Any

from opsconsole.actions.model import Preview, Result
from opsconsole.sanitize import clean

MAX_WIDTH = 38


def preview_text(preview: Preview) -> str:
    """The preview: count, batches, sample table, notes and the statement (str)."""
    batches = len(preview.batches)
    head = f"{preview.action}: {preview.count} rows would change"
    if batches > 1:
        head += f" in {batches} batches"
    if preview.done:
        head += f" (nothing to do: {clean(preview.done)})"
    lines = [head]
    if preview.sample:
        lines += _table(preview.columns, preview.sample)
        if preview.count > len(preview.sample):
            lines.append(f"  ... first {len(preview.sample)} of {preview.count}")
    lines += [f"note: {clean(n)}" for n in preview.notes]
    lines.append("statement:")
    lines += ["  " + ln for ln in preview.statement.strip().splitlines()]
    return "\n".join(lines)


def result_text(result: Result) -> str:
    """The result: its message and its values as key=value lines, as seed 000 prints them."""
    lines = [clean(result.message, None)]
    for key, value in result.values.items():
        if key != "audit_file_warning":  # printed once, on stderr, by the CLI
            lines.append(f"{key}={_value(value)}")
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(clean(v, 40) for v in value)
    return clean(value, 200)


def _table(columns: list[str], rows: list[dict[str, str]]) -> list[str]:
    widths = {c: min(MAX_WIDTH, max([len(c)] + [len(r.get(c, "")) for r in rows])) for c in columns}
    def fmt(values: dict[str, str]) -> str:
        return "  " + "  ".join(values.get(c, "")[: widths[c]].ljust(widths[c]) for c in columns)
    return [fmt({c: c for c in columns})] + [fmt(r) for r in rows]
