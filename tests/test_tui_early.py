"""The console's first checks start before Textual loads (tui/early.py, issue 13: the first data
on 10 M in under a second): the console takes that pass instead of running it again, and a
first pass that cannot reach the server is the console's "connection lost", not a crash."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from opsconsole import catalog
from opsconsole.connection import config
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.early import monitor_for, start_first_pass
from opsconsole.tui.refresh import split_due
from opsconsole.tui.settings import ConsoleSettings
from tests.conftest import ANCHOR
from tests.test_tui_support import drive, screen_text


def launched(dsn: str) -> tuple[OpsConsoleApp, Any, list[str]]:
    """An app given a first pass started the way ``opsconsole`` starts it, and that pass's ids."""
    resolved = config.Resolved(dsn, "test", config.Profile(name="test"), config.Defaults())
    cat = catalog.load()
    settings = ConsoleSettings.quiet(lambda: ANCHOR)
    monitor = monitor_for(resolved, cat)
    future = start_first_pass(monitor, cat, settings.clock)
    fast, _ = split_due(cat, {}, ANCHOR, force=True)
    app = OpsConsoleApp(resolved, cat, settings, monitor=monitor, first_pass=future)
    return app, future, fast


def test_the_console_takes_the_first_pass_started_at_launch(seeded_dsn: str) -> None:
    app, future, fast = launched(seeded_dsn)
    ran: list[list[str]] = []
    original = app.monitor.call_checks

    def spy(fn: Any, jobs: int) -> Any:  # every pass the console itself runs
        out = original(fn, jobs)
        ran.append([r.id for r in out])
        return out

    app.monitor.call_checks = spy  # type: ignore[method-assign]

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        early = {r.id: r for r in future.result(timeout=30)}
        assert sorted(early) == sorted(fast) and fast
        shown = {r.id: r for r in app.results}
        assert all(shown[i] is early[i] for i in fast)  # the launch's results, not a re-run
        assert len(ran) == 1 and not set(ran[0]) & set(fast)  # only the slow-cadence pass ran
        assert len(app.results) == len(app.catalog.checks())
        assert "CRITICAL" in screen_text(app)

    drive(app, body)


def test_a_first_pass_that_cannot_connect_is_connection_lost(tmp_path: Any) -> None:
    app, future, _ = launched(f"postgresql:///postgres?host={tmp_path}&port=1&connect_timeout=2")

    async def body(pilot: Pilot[Any], app: OpsConsoleApp) -> None:
        assert future.exception(timeout=30) is not None
        assert app.reconnecting and "connection lost" in screen_text(app)
        assert app.results == ()

    drive(app, body)


def test_the_first_pass_on_screen_gives_its_age_not_no_data_yet() -> None:
    """The first pass is drawn before the slow-cadence checks arrive: the header says how old
    it is (it said "no data yet" above a screen full of results)."""
    import asyncio

    from opsconsole.tui.messages import ChecksRefreshed
    from tests.test_tui_units import make_offline_app, result

    async def main() -> None:
        app = make_offline_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "no data yet" in screen_text(app)
            app.post_message(ChecksRefreshed(1000, [result()], None, 0.01, partial=True))
            await pilot.pause()
            assert app.results_at == ANCHOR and app.results
            assert "no data yet" not in screen_text(app) and "data 0s old" in screen_text(app)
            later = result()
            app.post_message(ChecksRefreshed(1000, [later], None, 0.01))
            await pilot.pause()
            assert app.results_at == later.checked_at

    asyncio.run(main())
