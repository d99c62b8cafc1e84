"""Untrusted text is inert: no escape sequences, no control characters, bounded length; and
nothing visible is hidden: only the sequence goes, a marker shows where it was."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.sanitize import MARKER, clean, escape_markup

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
STRING_INTRODUCERS = ["\x1b]", "\x1bP", "\x1bX", "\x1b^", "\x1b_",  # OSC DCS SOS PM APC
                      "\x9d", "\x90", "\x98", "\x9e", "\x9f"]       # and their 8-bit forms
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
        "\u2069", "\u200e", "\u200f", "\u061c"]


def forbidden(ch: str) -> bool:
    """What the output must never hold: C0, DEL, C1, bidi controls, lone surrogates."""
    code = ord(ch)
    return (code < 0x20 or 0x7F <= code <= 0x9F or ch in BIDI
            or 0xD800 <= code <= 0xDFFF)


def test_known_hostile_sequences_are_removed() -> None:
    for text in HOSTILE:
        out = clean(text)
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
        assert not any(forbidden(ch) for ch in out)


def test_text_after_a_lone_c1_is_kept_and_the_removal_is_marked() -> None:
    assert clean("See you at 8 \x9d BUY CHEAP PILLS") == f"See you at 8 {MARKER} BUY CHEAP PILLS"


def test_text_after_an_unterminated_string_introducer_is_kept() -> None:
    for intro in STRING_INTRODUCERS:
        out = clean(f"before {intro}0;the rest of the message\nnext line")
        assert out == f"before {MARKER}0;the rest of the message next line", repr(intro)


def test_a_terminated_sequence_is_removed_whole_behind_one_marker() -> None:
    assert clean("a\x1b]52;c;ZXZpbA==\x07b") == f"a{MARKER}b"
    assert clean("a\x1b]0;title\x1b\\b") == f"a{MARKER}b"
    assert clean("a\x9d0;title\x9cb") == f"a{MARKER}b"
    assert clean("\x1b[31mred\x1b[0m") == f"{MARKER}red{MARKER}"
    assert clean("x\x1b[2J\x1b[H\x07 y") == f"x{MARKER} y"  # adjacent removals: one marker
    assert clean("[/red]\x1b]52;c;ZXZpbA==\x07\x1b[2Jhello") == f"[/red]{MARKER}hello"


def test_bidi_overrides_and_isolates_are_marked() -> None:
    for ch in BIDI:
        assert clean(f"abc{ch}def") == f"abc{MARKER}def"


def test_plain_text_and_markup_pass_through_literally() -> None:
    assert clean("[/bold] and [red]alert[/red]") == "[/bold] and [red]alert[/red]"
    assert clean("line1\nline2\tend") == "line1 line2 end"
    assert clean("crlf\r\nend") == "crlf end"
    assert clean("ünïcødé, 日本語, emoji 🎉, ‘quotes’") == "ünïcødé, 日本語, emoji 🎉, ‘quotes’"


def test_long_values_are_cut_with_an_ellipsis() -> None:
    out = clean("x" * 100_000, 40)
    assert len(out) == 40 and out.endswith("…")


def test_many_introducers_on_a_long_line_stay_fast() -> None:
    out = clean(("\x9d" + "y" * 50) * 4000, None)
    assert out.count("y") == 200_000


def test_markup_escape() -> None:
    assert escape_markup("[/bold]") == "\\[/bold]"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3000), max_size=300),
       st.integers(min_value=1, max_value=200))
def test_any_text_comes_out_inert_and_bounded(text: str, limit: int) -> None:
    out = clean(text, limit)
    assert len(out) <= limit
    assert not any(forbidden(ch) for ch in out)
    assert clean(out, limit) == out  # idempotent


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_nothing_is_invented_only_markers_and_spaces(text: str) -> None:
    """The output without markers is a subsequence of the input (whitespace became spaces)."""
    out = clean(text, None)
    it = iter(text.translate({ord(c): " " for c in "\t\n\r\u2028\u2029"}))
    for ch in out:
        if ch == MARKER:
            continue
        assert any(ch == c for c in it), (text, out)


# Visible text: printable characters that are no control, format, separator or surrogate.
VISIBLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"),
                           blacklist_characters=MARKER),
    min_size=1, max_size=20,
)
SEQUENCES = st.sampled_from([
    "\x1b[2J", "\x1b[31;1m", "\x9b0K", "\x1b[?25l",             # CSI, complete
    "\x1b]52;c;ZXZpbA==\x07", "\x1b]0;t\x1b\\", "\x9d8;;x\x9c",  # OSC, terminated
    "\x1bP1$r\x1b\\", "\x1b_apc\x1b\\", "\x1b^pm\x9c",           # DCS, APC, PM
    "\x1bc", "\x1b(B", "\x1b7",                                  # two-character escapes
    "\x9d", "\x90", "\x1b]", "\x1b_", "\x98",                    # unterminated introducers
    "\x85", "\x80", "\x00", "\x08", "\x7f", "\x01",              # lone C1, C0, DEL
    "\u202e", "\u2066", "\u200f",                                # bidi controls
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(SEQUENCES, VISIBLE), max_size=8), VISIBLE)
def test_every_visible_character_outside_a_sequence_survives(
        parts: list[tuple[str, str]], head: str) -> None:
    text = head + "".join(seq + visible for seq, visible in parts)
    out = clean(text, None)
    assert not any(forbidden(ch) for ch in out)
    assert out.startswith(head)
    pos = len(head)
    for _seq, visible in parts:  # in order, each whole, each behind a marker
        found = out.index(visible, pos)
        assert MARKER in out[pos:found]
        pos = found + len(visible)


def test_the_marker_is_one_printable_character() -> None:
    assert len(MARKER) == 1 and unicodedata.category(MARKER) == "So"
