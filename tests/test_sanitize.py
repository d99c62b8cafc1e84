"""Untrusted text is inert: no escape sequences, no control characters, bounded length."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from opsconsole.sanitize import clean, escape_markup

HOSTILE = [
    "\x1b]52;c;SGVsbG8=\x07",   # clipboard write (OSC 52)
    "\x1b[2J",                  # clear screen
    "\x1b]0;pwned\x07",         # set window title
    "\x1b[31mred\x1b[0m",       # colour
    "\x9b2J",                   # 8-bit CSI
    "\x1bP1$r\x1b\\",           # DCS
    "a\rb\x08c\x00d",           # carriage return, backspace, NUL
    "\u202eevil",               # bidi override
]


def test_known_hostile_sequences_are_removed() -> None:
    for text in HOSTILE:
        out = clean(text)
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
        assert not any(ord(ch) < 32 for ch in out)


def test_plain_text_and_markup_pass_through_literally() -> None:
    assert clean("[/bold] and [red]alert[/red]") == "[/bold] and [red]alert[/red]"
    assert clean("line1\nline2\tend") == "line1 line2 end"


def test_long_values_are_cut_with_an_ellipsis() -> None:
    out = clean("x" * 100_000, 40)
    assert len(out) == 40 and out.endswith("…")


def test_markup_escape() -> None:
    assert escape_markup("[/bold]") == "\\[/bold]"


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3000), max_size=300),
       st.integers(min_value=1, max_value=200))
def test_any_text_comes_out_inert_and_bounded(text: str, limit: int) -> None:
    out = clean(text, limit)
    assert len(out) <= limit
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in out)
    assert clean(out, limit) == out  # idempotent
