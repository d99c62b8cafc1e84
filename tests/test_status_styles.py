"""Status badges carry their order without colour and in 16 colours (issue 11, item 16): the
word is always there, and CRIT is the one red, bold badge on a 16-colour terminal."""

from __future__ import annotations

import io

from rich.console import Console
from rich.style import Style

from opsconsole.checks import Status
from opsconsole.render.cells import STATUS_LABEL, STATUS_STYLE, status_text


def rendered(status: Status, **console: object) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=20, **console).print(status_text(status),
                                                                      end="")
    return out.getvalue()


def test_every_badge_says_its_status_in_words_without_colour() -> None:
    assert [STATUS_LABEL[s] for s in Status] == ["OK", "WARN", "CRIT", "UNKN"]
    for status in Status:
        shown = rendered(status, no_color=True)
        assert STATUS_LABEL[status] in shown
        assert "\x1b[3" not in shown and "\x1b[4" not in shown  # no colour at all
    assert "\x1b[1m" in rendered(Status.CRITICAL, no_color=True)  # still bold without colour


def test_in_16_colours_crit_is_the_strongest_and_warn_is_not_red() -> None:
    crit = Style.parse(STATUS_STYLE[Status.CRITICAL])
    warn = Style.parse(STATUS_STYLE[Status.WARNING])
    for style in (crit, warn):  # named ANSI colours only: no palette conversion reorders them
        for color in (style.color, style.bgcolor):
            assert color is None or (color.number is not None and color.number < 16)
    assert crit.bold and crit.bgcolor is not None and crit.bgcolor.name == "red"
    assert warn.bgcolor is not None and "red" not in warn.bgcolor.name and not warn.bold
    assert warn.bgcolor.name == "bright_yellow"  # plain "yellow" is brown on many palettes
    assert "41" in rendered(Status.CRITICAL, color_system="standard")  # red background
    assert "103" in rendered(Status.WARNING, color_system="standard")  # bright yellow
    for status in (Status.OK, Status.UNKNOWN):
        style = Style.parse(STATUS_STYLE[status])
        assert style.bgcolor is None  # only CRIT and WARN are filled badges
