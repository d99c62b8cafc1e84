"""The TUI side of the guarded actions: choose, preview, confirm, progress, cancel.

:func:`open_action` is called by the screens when an action key is pressed. The modal
:class:`ActionDialog` runs every database call in a thread worker on its OWN write session (never
the app's monitoring connection); workers post messages and never touch widgets. The engineer
types the row count (on a production profile also the environment's name); a batched apply shows
its progress and can be cancelled between batches. Untrusted values are rendered as plain text.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, Static

from opsconsole.actions import common, engine, guards
from opsconsole.actions.definition import ActionDef
from opsconsole.actions.model import Face, Preview, Progress, Result, Status
from opsconsole.actions.params import Choice, ParamError, choices, from_row
from opsconsole.actions.session import ActionContext, default_audit_file, open_session
from opsconsole.catalog import ActionRef, ParamSpec, ScreenSpec
from opsconsole.errors import OpsError, Refused
from opsconsole.sanitize import clean


def _shown(param: ParamSpec) -> str:
    return param.shown


# How the console words what the engineer does (never a CLI flag).
TUI_FACE = Face(
    writes_hint="switch write mode on (w); the profile must allow writes",
    confirm="type {count} in the confirmation box",
    confirm_env="type {count} {env} in the confirmation box",
    param=_shown,
)


def _message(exc: OpsError) -> str:
    """An engine error worded for the console (parameters by their label)."""
    return exc.worded(TUI_FACE.param) if isinstance(exc, ParamError) else exc.message


class PreviewReady(Message):
    """The preview worker finished (preview or error, and the guard that would refuse)."""

    def __init__(self, preview: Preview | None, refusal: str | None, error: str | None) -> None:
        super().__init__()
        self.preview, self.refusal, self.error = preview, refusal, error


class ApplyProgress(Message):
    """A batch committed."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class ApplyDone(Message):
    """The apply worker finished; ``result`` says exactly what committed."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


def open_action(
    app: App[Any],
    screen_spec: ScreenSpec,
    action_ref: ActionRef,
    selected_row: dict[str, Any] | None,
    *,
    batch_size: int = common.DEFAULT_BATCH_SIZE,
) -> None:
    """Open the guarded action ``action_ref`` for the selected row (None: no row).

    Args:
        app: the console; gives ``resolved``, ``catalog`` and ``write_mode_until``.
        screen_spec: the screen the action was started from.
        action_ref: the screen's action (name, params mapping param -> row column).
        selected_row: the raw row under the cursor of the action's table.
        batch_size: rows per transaction for batched actions.
    """
    raw = row_params(action_ref, selected_row)
    if raw is None:
        app.notify(
            f"{action_ref.name}: select a row of the table first", severity="warning",
            markup=False,
        )
        return
    app.push_screen(ActionDialog(action_ref, raw, batch_size=batch_size), _refresh_after(app))


def _refresh_after(app: App[Any]) -> Any:
    """Once the dialog closes after writing, refresh the console so it shows what changed."""

    def done(result: Result | None) -> None:
        refresh = getattr(app, "action_refresh", None)
        if result is not None and result.affected and callable(refresh):
            refresh()

    return done


def row_params(ref: ActionRef, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """Parameters from the row's columns as the action's spec maps them (None: a row is
    needed and none is selected)."""
    return from_row(ref, row)


def make_context(app: Any) -> ActionContext:
    """The action context of the console: writes only in write mode on a writes profile."""
    clock = getattr(app, "clock", None) or (lambda: datetime.now(UTC))
    until = getattr(app, "write_mode_until", None)
    resolved = app.resolved
    return ActionContext(
        dsn=resolved.dsn,
        profile=resolved.profile,
        catalog=app.catalog,
        writes_enabled=bool(resolved.profile.writes and until is not None and until > clock()),
        audit_file=default_audit_file(resolved),
        face=TUI_FACE,
    )


class ActionDialog(ModalScreen[Result | None]):
    """Preview, confirm and apply one action; dismissed with the Result (None: nothing run)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    ActionDialog { align: center middle; }
    ActionDialog > Vertical {
        width: 90%; max-width: 120; height: auto; max-height: 95%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    ActionDialog #action-body { height: auto; max-height: 20; }
    ActionDialog #action-statement { color: $text-muted; }
    ActionDialog #action-status { color: $warning; }
    ActionDialog Horizontal, ActionDialog #action-choices { height: auto; }
    ActionDialog Button { margin: 0 1 0 0; }
    """

    def __init__(self, action: ActionRef, raw: dict[str, Any], *, batch_size: int) -> None:
        super().__init__()
        self.action, self.raw, self.batch_size = action, dict(raw), batch_size
        self.choices: list[Choice] = choices(action, raw)
        self.defined: ActionDef[Any] | None = None
        self.preview: Preview | None = None
        self.refusal: str | None = None
        self.result: Result | None = None
        self.cancel_event = threading.Event()
        self.applying = False
        self.progress_seen: list[Progress] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(f"{self.action.title} ({self.action.name})", style="bold"), id="action-title"
            )
            with Vertical(id="action-choices"):
                for i, choice in enumerate(self.choices):
                    yield Button(choice.label, id=f"choice-{i}")
            yield Static(Text("loading the preview…"), id="action-count")
            with VerticalScroll(id="action-body"):
                yield Static(Text(""), id="action-sample")
                yield Static(Text(""), id="action-statement")
            yield Input(
                placeholder="type the row count to confirm", id="action-confirm", disabled=True
            )
            yield ProgressBar(total=1, id="action-progress", show_eta=False)
            yield Static(Text(""), id="action-status")
            with Horizontal():
                yield Button("Apply", id="action-apply", variant="warning", disabled=True)
                yield Button("Cancel", id="action-cancel")

    def on_mount(self) -> None:
        self.query_one("#action-progress", ProgressBar).display = False
        if self.choices:
            self._set("#action-count", Text("choose what to do"))
            self.query_one("#choice-0", Button).focus()
        else:
            self.query_one("#action-choices").display = False
            self._start_preview()

    @on(Button.Pressed, "#action-choices Button")
    def _chosen(self, event: Button.Pressed) -> None:
        index = int(str(event.button.id).split("-")[1])
        self.raw.update(self.choices[index].values)
        self.query_one("#action-choices").display = False
        self._start_preview()

    def _start_preview(self) -> None:
        ctx = make_context(self.app)
        raw = dict(self.raw)
        self.run_worker(
            lambda: self._preview_worker(ctx, raw),
            thread=True,
            exclusive=True,
            group="action-preview",
        )

    def _preview_worker(self, ctx: ActionContext, raw: dict[str, Any]) -> None:
        try:
            with open_session(ctx) as session:
                self.defined = engine.define(session, ctx, self.action.name)
                params = self.defined.parse(raw)
                preview = engine.prepare(
                    session, ctx, self.defined, params, batch_size=self.batch_size
                )
                refusal = engine.would_refuse(session, ctx, preview) if preview.count else None
            self.post_message(PreviewReady(preview, refusal, None))
        except OpsError as exc:
            self.post_message(PreviewReady(None, None, _message(exc)))
        except Exception as exc:  # a database error must not take the console down
            self.post_message(PreviewReady(None, None, f"{type(exc).__name__}: {exc}"))

    @on(PreviewReady)
    def _show_preview(self, message: PreviewReady) -> None:
        if message.error is not None or message.preview is None:
            self._set("#action-count", Text(clean(message.error), style="bold red"))
            return
        preview = self.preview = message.preview
        self.refusal = message.refusal
        self._set("#action-count", Text(_count_line(preview), style="bold"))
        self._set("#action-sample", _sample_table(preview))
        self._set("#action-statement", Text("will run:\n" + preview.statement.strip()))
        confirm = self.query_one("#action-confirm", Input)
        if preview.count == 0:
            why = f": {clean(preview.done)}" if preview.done else ""
            self._set("#action-status", Text(f"nothing to do{why}; nothing will be written"))
        elif self.refusal:
            self._set("#action-status", Text(clean(self.refusal)))
        else:
            env = make_context(self.app).profile.environment
            confirm.placeholder = (
                f"type {preview.count} {env} to confirm"
                if env == "production"
                else f"type {preview.count} to confirm"
            )
            confirm.disabled = False
            self.query_one("#action-apply", Button).disabled = False
            confirm.focus()

    @on(Input.Submitted, "#action-confirm")
    @on(Button.Pressed, "#action-apply")
    def _confirm(self) -> None:
        if self.preview is None or self.applying or self.result is not None:
            return
        ctx = make_context(self.app)
        typed = self.query_one("#action-confirm", Input).value.split()
        try:
            expect = int(typed[0]) if typed and typed[0].isdigit() else None
            guards.check_confirmation(
                self.preview, ctx, expect=expect, typed_env=typed[1] if len(typed) > 1 else None
            )
        except Refused as exc:
            self._set("#action-status", Text(exc.message))
            return
        self._start_apply(ctx, self.preview)

    def _start_apply(self, ctx: ActionContext, preview: Preview) -> None:
        self.applying = True
        self.query_one("#action-confirm", Input).disabled = True
        self.query_one("#action-apply", Button).disabled = True
        self.query_one("#action-cancel", Button).label = "Cancel after this batch"
        bar = self.query_one("#action-progress", ProgressBar)
        bar.update(total=max(len(preview.batches), 1), progress=0)
        bar.display = True
        self._set("#action-status", Text("applying…"))
        self.run_worker(
            lambda: self._apply_worker(ctx, preview),
            thread=True,
            exclusive=True,
            group="action-apply",
        )

    def _apply_worker(self, ctx: ActionContext, preview: Preview) -> None:
        def progress(p: Progress) -> None:
            self.post_message(ApplyProgress(p))

        assert self.defined is not None  # the preview defined it
        try:
            with open_session(ctx) as session:
                result = engine.apply(
                    session,
                    ctx,
                    self.defined,
                    preview,
                    cancel=self.cancel_event,
                    on_progress=progress,
                )
        except OpsError as exc:
            status: Status = "refused" if isinstance(exc, Refused) else "aborted"
            result = Result(self.action.name, status, previewed=preview.count, message=exc.message)
        except Exception as exc:  # never crash the console from a worker
            result = Result(
                self.action.name,
                "aborted",
                previewed=preview.count,
                message=f"{type(exc).__name__}: {exc}",
            )
        self.post_message(ApplyDone(result))

    @on(ApplyProgress)
    def _progress(self, message: ApplyProgress) -> None:
        p = message.progress
        self.progress_seen.append(p)
        self.query_one("#action-progress", ProgressBar).update(progress=p.batch_no)
        self._set(
            "#action-status",
            Text(f"batch {p.batch_no}/{p.batches} committed: {p.affected} of {p.previewed} rows"),
        )

    @on(ApplyDone)
    def _done(self, message: ApplyDone) -> None:
        self.applying = False
        self.result = message.result
        self._set("#action-status", Text(clean(message.result.message, None)))
        self.query_one("#action-cancel", Button).label = "Close"
        ok = message.result.exit_code == 0
        self.app.notify(
            clean(message.result.message, 200),
            severity="information" if ok else "error",
            markup=False,
        )

    @on(Button.Pressed, "#action-cancel")
    def action_cancel(self) -> None:
        """Before the apply: close, nothing written. During: stop after the batch in flight."""
        if self.applying:
            self.cancel_event.set()
            self._set("#action-status", Text("cancelling after the batch in flight…"))
            return
        self.dismiss(self.result)

    def _set(self, selector: str, content: Any) -> None:
        self.query_one(selector, Static).update(content)


def _count_line(preview: Preview) -> str:
    line = f"{preview.count} rows would change"
    if len(preview.batches) > 1:
        line += f" in {len(preview.batches)} batches"
    notes = "".join(f"\nnote: {clean(n)}" for n in preview.notes)
    return line + notes


def _sample_table(preview: Preview) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in preview.columns:
        table.add_column(Text(column), overflow="ellipsis", no_wrap=True, max_width=38)
    for row in preview.sample:
        table.add_row(*(Text(row.get(c, "")) for c in preview.columns))
    if preview.count > len(preview.sample):
        table.caption = f"first {len(preview.sample)} of {preview.count}"
    return table
