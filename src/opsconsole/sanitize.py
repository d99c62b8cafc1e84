"""Untrusted text from the database, made inert for a terminal, without hiding any of it.

Message bodies, report reasons, flag names and error strings are written by users. Before
anything is shown it passes through :func:`clean`, which removes what a terminal would act on
and keeps everything a reader should see:

- **Escape sequences** are removed whole and replaced by one :data:`MARKER` (``�``, U+FFFD), so
  a moderator sees that something was there: CSI (``ESC [`` or 8-bit ``0x9b``, parameters,
  intermediates, one final byte), two-character escapes (``ESC c``, ``ESC ( B``), and the string
  sequences OSC, DCS, SOS, PM and APC (``ESC ] P X ^ _`` or ``0x9d 0x90 0x98 0x9e 0x9f``).
- **The rule for string sequences**: a string sequence is removed with its body only when it
  is terminated (BEL, ``ESC \\`` or ``0x9c``) before the next control character or line break.
  Otherwise only its introducer is removed, and the text after it is kept: a lone ``0x9d`` in
  "See you at 8 \\x9d BUY CHEAP PILLS" hides nothing (the result reads
  "See you at 8 � BUY CHEAP PILLS").
- **Control characters** (C0 except tab/newline/CR, DEL, C1), **bidi controls** (U+202A-U+202E
  embeddings and overrides, U+2066-U+2069 isolates, U+200E/U+200F marks, U+061C) and lone
  surrogates are replaced by the marker too; adjacent removals share one marker.
- Tabs, newlines, CR and U+2028/U+2029 become one space; zero-width characters (U+200B-U+200D,
  U+2060, U+FEFF) are dropped without a marker (they hide nothing and carry no control).
- Long values are cut to ``max_len`` with an ellipsis.

Every other character survives, in order. Rich markup is not interpreted anywhere in the
console (text is rendered with markup off); :func:`escape_markup` exists for the rare place that
must build markup around a value.
"""

from __future__ import annotations

import re

MARKER = "\ufffd"
ELLIPSIS = "…"
_SENTINEL = "\x00"  # stands in for a removal between the passes (every input NUL is removed)

_CONTROL = r"\x00-\x1f\x7f-\x9f"
_REMOVED = re.compile(
    rf"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?                  # CSI (an aborted one: what it consumed)
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])            # OSC DCS SOS PM APC introducer, then
    (?:[^{_CONTROL}]*(?:\x07|\x1b\\|\x9c))?            #   its body, if terminated on this line
  | \x1b[ -/]*[0-~]?                                   # two-character escapes, a lone ESC
  | [\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]              # other C0, DEL, C1
  | [\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]     # bidi embeddings, overrides, isolates
  | [\ud800-\udfff]                                    # lone surrogates (unprintable)
    """,
    re.VERBOSE,
)
_WHITESPACE = re.compile(r"[\t\n\r\u2028\u2029]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_RUNS = re.compile(f"{_SENTINEL}+")


def clean(value: object, max_len: int | None = 500) -> str:
    """Return ``value`` as one line of inert text, every visible character kept.

    Args:
        value: anything (None becomes ""; other objects their ``str()``).
        max_len: cut to this many characters with an ellipsis (None: no limit).

    Returns:
        str without escape sequences, control or bidi characters, or line breaks; each removal
        shows as :data:`MARKER`. Idempotent: ``clean(clean(x)) == clean(x)``.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = _REMOVED.sub(_SENTINEL, text)
    text = _WHITESPACE.sub(" ", text)
    text = _ZERO_WIDTH.sub("", text)
    text = _RUNS.sub(MARKER, text)
    if max_len is not None and len(text) > max_len:
        text = text[: max(max_len - 1, 0)] + ELLIPSIS
    return text


def clean_lines(text: str) -> str:
    """Clean every line of multi-line output (str), keeping the line breaks and lengths.

    For text the console itself laid out (reports, previews) that may carry database values.
    """
    return "\n".join(clean(line, None) for line in text.split("\n"))


def escape_markup(text: str) -> str:
    """Escape Rich/Textual markup in already-cleaned text (``[`` becomes ``\\[``)."""
    return text.replace("\\", "\\\\").replace("[", "\\[")
