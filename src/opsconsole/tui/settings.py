"""How one console behaves: its clock, its refresh, and what it draws (no database here).

The product runs with the defaults. Tests and screenshots use :meth:`ConsoleSettings.quiet`:
a fixed clock, no auto-refresh timer, no back-off, no host name, no toasts (they are still
recorded in ``app.notices``), no cursor blink and no animation, and a check history kept in
memory only (never the developer's state dir), so every frame is deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from opsconsole.checks import utc_now

Clock = Callable[[], datetime]
AnimationLevel = Literal["none", "basic", "full"]


@dataclass(frozen=True)
class ConsoleSettings:
    """The console's behaviour that is not the connection.

    Attributes:
        clock: "now" (aware datetime); the header age and time-relative checks use it.
        refresh_s: auto-refresh interval in seconds (None: the profile's).
        auto_refresh: False: refresh at start and on ``r`` only (no timer is armed).
        show_target: show ``user@host/db`` in the header and help (False: hidden).
        toasts: show notifications as toasts (False: only recorded in ``app.notices``).
        cursor_blink: let text inputs blink their cursor.
        animation_level: Textual's animation level.
        tick_s: how often the header's clock ticks, in seconds.
        back_off: lengthen the interval (and use one session) when the checks are slow;
            False pins it (screenshots must not depend on how loaded the machine is).
        run_ids: makes the id of each action run (None: a random UUID; a screenshot of a
            result passes :func:`numbered_run_ids`, on a database of its own).
        history_file: load the check history from, and save it to, the profile's file under
            ``$XDG_STATE_HOME/opsconsole/`` (False: memory only, as in tests).
    """

    clock: Clock = utc_now
    refresh_s: float | None = None
    auto_refresh: bool = True
    show_target: bool = True
    toasts: bool = True
    cursor_blink: bool = True
    animation_level: AnimationLevel = "full"
    tick_s: float = 1.0
    back_off: bool = True
    run_ids: Callable[[], str] | None = None
    history_file: bool = True

    @classmethod
    def quiet(cls, clock: Clock, **changes: object) -> ConsoleSettings:
        """A deterministic, silent console (tests, screenshots).

        Args:
            clock: the fixed "now".
            changes: fields to override, e.g. ``auto_refresh=True`` for tests of the timer.
        """
        base = cls(
            clock=clock,
            auto_refresh=False,
            show_target=False,
            toasts=False,
            cursor_blink=False,
            animation_level="none",
            history_file=False,
        )
        return replace(base, **changes)  # type: ignore[arg-type]


def numbered_run_ids() -> Callable[[], str]:
    """``00000000-0000-4000-8000-000000000001``, ``...0002``, ...: the run ids of a console whose
    screenshots must not change (only on a database no other console writes to)."""
    numbers = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(numbers):012d}"
