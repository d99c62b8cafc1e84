"""Untrusted text from the database, made inert for a terminal.

Message bodies, report reasons and error strings are written by users. Before anything is shown
it passes through :func:`clean`: terminal escape sequences (CSI, OSC such as the clipboard write
``ESC ] 52``, DCS, single-character escapes) and C0/C1 control characters are removed, newlines
and tabs become spaces, and long values are cut. Rich markup is not interpreted anywhere in the
console (text is rendered with markup off); :func:`escape_markup` exists for the rare place that
must build markup around a value.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC (ESC ] ... BEL or
# ESC \), and two-character escapes. Also the 8-bit C1 forms (0x9b CSI, 0x9d OSC, ...).
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                    # CSI
  | (?:\x1b[\]P^_X]|[\x9d\x90\x9e\x9f\x98]).*?(?:\x07|\x1b\\|\x9c|$)  # OSC, DCS, PM, APC, SOS
  | \x1b[ -/]*[0-~]                                     # other escapes (ESC c, ESC ( B, ...)
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_WHITESPACE = re.compile(r"[\t\n\r]+")
ELLIPSIS = "…"


def clean(value: object, max_len: int | None = 500) -> str:
    """Return ``value`` as one line of inert text.

    Args:
        value: anything (None becomes "").
        max_len: cut to this many characters with an ellipsis (None: no limit).

    Returns:
        str without escape sequences, control or bidi-override characters, or line breaks.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = _ESCAPES.sub("", text)
    text = _WHITESPACE.sub(" ", text)
    text = _CONTROLS.sub("", text)
    if max_len is not None and len(text) > max_len:
        text = text[: max(max_len - 1, 0)] + ELLIPSIS
    return text


def escape_markup(text: str) -> str:
    """Escape Rich/Textual markup in already-cleaned text (``[`` becomes ``\\[``)."""
    return text.replace("\\", "\\\\").replace("[", "\\[")
