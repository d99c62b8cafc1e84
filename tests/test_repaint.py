"""The check list repaints only what changed on screen (issue 13, quiet repaints): no database
needed."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region

from opsconsole.checks import CheckResult, Status
from opsconsole.tui.widgets.checks import ChecksView
from tests.conftest import ANCHOR
from tests.test_tui_support import screen_text

LONG = "57 attempts due, the oldest for 4h 17m, every one of them past its next_attempt_at by "


def row(ident: str, summary: str, status: Status = Status.WARNING) -> CheckResult:
    return CheckResult(id=ident, screen="jobs", title=f"Check {ident}", status=status,
                       value=1.0, unit="rows", values={}, summary=summary, runbook="",
                       source="", query="q", duration_ms=1.0, error=None, checked_at=ANCHOR)


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield ChecksView()


def shown(results: list[CheckResult], steps: list[list[CheckResult]]) -> tuple[str, list[Any]]:
    """The screen after showing ``results`` then each of ``steps``, and the regions each step
    asked to repaint (None: the whole widget)."""
    asked: list[Any] = []

    async def main() -> str:
        app = Host()
        async with app.run_test(size=(80, 8)) as pilot:
            view = app.query_one(ChecksView)
            view.show(results, {})
            await pilot.pause()
            original = view.refresh

            def spy(*regions: Region, **kw: Any) -> Any:
                asked.append(None if kw.get("layout") or not regions else list(regions))
                return original(*regions, **kw)

            view.refresh = spy  # type: ignore[method-assign]
            for step in steps:
                view.show(step, {})
                await pilot.pause()
            return screen_text(app)

    return asyncio.run(main()), asked


def test_a_change_out_of_sight_repaints_nothing_a_visible_one_only_its_line() -> None:
    first = [row("a", LONG + "1 s"), row("b", "3 pending")]
    hidden = [row("a", LONG + "2 s"), row("b", "3 pending")]  # past the ellipsis at 80 cols
    visible = [row("a", LONG + "2 s"), row("b", "4 pending")]
    text, asked = shown(first, [hidden, visible])
    assert asked == [[Region(0, 1, 80, 1)]]  # nothing for the hidden change; line 2 for b
    fresh, _ = shown(visible, [])
    assert text == fresh and "4 pending" in text  # what is on screen is what a full paint draws


def test_a_status_change_repaints_its_line_and_the_screen_matches_a_full_paint() -> None:
    first = [row("a", "1 pending"), row("b", "2 pending"), row("c", "3 pending")]
    after = [row("a", "1 pending"), row("b", "2 pending", Status.CRITICAL), row("c", "3 pending")]
    text, asked = shown(first, [after])
    assert asked == [[Region(0, 1, 80, 1)]]
    assert text == shown(after, [])[0] and "CRIT" in text


def test_more_rows_repaint_the_whole_list() -> None:
    first = [row("a", "1 pending")]
    _, asked = shown(first, [[*first, row("b", "2 pending")]])
    assert asked == [None]
