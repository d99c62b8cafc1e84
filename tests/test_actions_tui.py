"""Pilot tests of the action dialog: preview shown, a wrong count refuses, the right count
applies, cancel writes nothing, a batched apply shows progress, production asks for its name."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Button, Input, ProgressBar, Static

from opsconsole import catalog, tui
from opsconsole.catalog import ActionRef
from opsconsole.connection import config
from opsconsole.tui.action_dialog import ActionDialog, open_action
from tests.test_actions_engine import user_ids
from tests.test_actions_faults import fingerprint
from tests.test_actions_support import G_LINKED, M1, U1, audit_rows, scalar
from tests.test_tui_support import make_app, screen_text, settle

Body = Callable[[Pilot[Any], App[Any]], Awaitable[None]]


class Host(App[None]):
    """A bare app offering what the dialog needs: resolved, catalog, write_mode_until (and the
    console's stylesheet, so the dialog is laid out as in the console)."""

    CSS_PATH = str(Path(tui.__file__).parent / "app.tcss")

    def __init__(self, dsn: str, *, write_mode: bool = True, environment: str = "dev") -> None:
        super().__init__()
        profile = config.Profile(name="pilot", environment=environment,  # type: ignore[arg-type]
                                 writes=True)
        self.resolved = config.Resolved(dsn, "test", profile, config.Defaults())
        self.catalog = catalog.load()
        now = datetime.now(UTC)
        self.write_mode_until = now + timedelta(minutes=15) if write_mode else None
        self.animation_level = "none"


def drive(app: App[Any], body: Body) -> None:
    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await body(pilot, app)

    asyncio.run(main())


def ref(name: str) -> tuple[Any, ActionRef]:
    cat = catalog.load()
    for screen in cat.screens:
        for action in screen.actions:
            if action.name == name:
                return screen, action
    raise KeyError(name)


def text_of(dialog: ActionDialog, selector: str) -> str:
    return str(dialog.query_one(selector, Static).render())


async def confirm(pilot: Pilot[Any], dialog: ActionDialog, typed: str) -> None:
    dialog.query_one("#action-confirm", Input).value = typed
    dialog.query_one("#action-confirm", Input).focus()
    await pilot.press("enter")
    await settle(pilot)


def test_preview_then_wrong_count_refuses_and_right_count_applies(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("backfill-guest")
        open_action(app, screen, action, {"guest_id": G_LINKED, "guest_user_id": U1, "id": "x"})
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        assert "3 rows would change" in text_of(dialog, "#action-count")
        assert "UPDATE public.message_deliveries" in text_of(dialog, "#action-statement")
        before = fingerprint(dsn)
        await confirm(pilot, dialog, "2")
        assert "the preview has 3 rows but 2 was confirmed" in text_of(dialog, "#action-status")
        assert fingerprint(dsn) == before and dialog.result is None
        await confirm(pilot, dialog, "3")
        assert dialog.result is not None and dialog.result.status == "applied"
        assert dialog.result.affected == 3
        assert scalar(dsn, "SELECT count(*) FROM public.message_deliveries WHERE guest_id = %s"
                           " AND user_id IS NULL", (G_LINKED,)) == 0
        assert str(dialog.query_one("#action-cancel", Button).label) == "Close"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ActionDialog)

    drive(Host(dsn), body)


def test_cancel_before_apply_writes_nothing(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    before = fingerprint(dsn)

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("reset-quotas")
        open_action(app, screen, action, None)
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog) and dialog.preview is not None
        dialog.query_one("#action-confirm", Input).value = str(dialog.preview.count)
        await pilot.click("#action-cancel")
        await settle(pilot)
        assert not isinstance(app.screen, ActionDialog)

    drive(Host(dsn), body)
    assert fingerprint(dsn) == before


def test_batched_apply_shows_progress_and_reports_what_committed(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    original = user_ids(dsn)

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("backfill-all")
        open_action(app, screen, action, None, batch_size=50)
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog) and dialog.preview is not None
        total = len(dialog.preview.batches)
        assert total > 1 and f"in {total} batches" in text_of(dialog, "#action-count")
        await confirm(pilot, dialog, str(dialog.preview.count))
        result = dialog.result
        assert result is not None and result.status == "applied" and result.batches == total
        seen = [p.batch_no for p in dialog.progress_seen]  # a burst keeps only the latest
        assert seen == sorted(set(seen)) and seen[-1] == total
        bar = dialog.query_one("#action-progress", ProgressBar)
        assert bar.total == total and bar.progress == total
        changed = {k for k, v in user_ids(dsn).items() if v != original[k]}
        assert len(changed) == result.affected == dialog.preview.count

    drive(Host(dsn), body)


def test_cancel_during_a_batched_apply_stops_between_batches(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    original = user_ids(dsn)

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("backfill-all")
        open_action(app, screen, action, None, batch_size=1)
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog) and dialog.preview is not None
        dialog.cancel_event.set()  # the engineer pressed cancel as the first batch started
        await confirm(pilot, dialog, str(dialog.preview.count))
        result = dialog.result
        assert result is not None and result.status == "aborted"
        assert result.batches == 0 and "cancelled after 0" in result.message
        assert {k for k, v in user_ids(dsn).items() if v != original[k]} == set()
        assert audit_rows(dsn) == []

    drive(Host(dsn), body)


def test_write_mode_off_previews_but_cannot_apply(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("reset-quotas")
        open_action(app, screen, action, None)
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        assert "writes are off" in text_of(dialog, "#action-status")
        assert "switch write mode on (w)" in text_of(dialog, "#action-status")
        assert dialog.query_one("#action-apply", Button).disabled
        assert dialog.query_one("#action-confirm", Input).disabled

    drive(Host(dsn, write_mode=False), body)


def test_production_confirmation_needs_the_environment_name(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, reports = planted

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("resolve-report")
        open_action(app, screen, action, {"id": reports["r1"]})
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog) and dialog.preview is None
        dialog.query_one("#choice-1", Button).press()  # uphold and soft-delete
        await settle(pilot)
        assert dialog.preview is not None and dialog.preview.count == 2
        shown = screen_text(app)
        assert "hello" in shown and "\x1b" not in shown and "[/red]" in shown
        await confirm(pilot, dialog, "2")
        # Worded for the dialog (issue 11 item 16): what to type, never a CLI flag.
        assert "type 2 production" in text_of(dialog, "#action-status")
        assert "--" not in text_of(dialog, "#action-status")
        assert dialog.result is None
        await confirm(pilot, dialog, "2 production")
        assert dialog.result is not None and dialog.result.affected == 2
        assert scalar(dsn, "SELECT is_deleted FROM public.messages WHERE id = %s", (M1,))

    drive(Host(dsn, environment="production"), body)


def test_the_console_opens_the_dialog_from_its_key(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted
    app = make_app(dsn, writes=True)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("w", "4")
            await settle(pilot)
            await pilot.press("B")
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, ActionDialog) and dialog.preview is not None
            assert dialog.action.name == "backfill-all"
            await confirm(pilot, dialog, str(dialog.preview.count))
            assert dialog.result is not None and dialog.result.status == "applied"

    asyncio.run(main())
    assert scalar(dsn, "SELECT count(*) FROM opsconsole.audit_log WHERE action = 'backfill-all'")


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_choices_and_row_parameters_come_from_the_spec(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("set-trigger")
        open_action(app, screen, action, None)
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        labels = [str(b.label) for b in dialog.query("#action-choices Button").results(Button)]
        assert labels == [f"{verb} {name}" for name in (
            "trigger_message_deliveries_auto_link_user",
            "trigger_backfill_deliveries_on_guest_link") for verb in ("Enable", "Disable")]
        dialog.dismiss(None)
        await settle(pilot)
        # The selected flag's row: its name, and the toggle of its value (row_rule "not").
        screen, action = ref("set-flag")
        open_action(app, screen, action, {"id": "opsconsole_test_flag", "enabled": False})
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog) and dialog.preview is not None
        assert dialog.preview.count == 1 and dialog.preview.bound["enabled"] is True

    drive(Host(dsn), body)


def test_parameter_errors_in_the_dialog_name_what_the_engineer_sees(
    planted: tuple[str, dict[str, int]], audit_file: Path
) -> None:
    dsn, _ = planted

    async def body(pilot: Pilot[Any], app: App[Any]) -> None:
        screen, action = ref("resolve-report")
        open_action(app, screen, action, {"id": "not-a-number"})
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        dialog.query_one("#choice-0", Button).press()
        await settle(pilot)
        shown = text_of(dialog, "#action-status")
        assert "report id 'not-a-number' must be a whole number" in shown
        assert "--" not in shown and dialog.preview is None

    drive(Host(dsn), body)
