"""The TUI side of the guarded actions: choose, preview, confirm, progress, cancel.

:func:`open_action` is called by the screens when an action key is pressed. The modal
:class:`ActionDialog` runs every database call in a thread worker on its OWN write session (never
the app's monitoring connection); workers post messages and never touch widgets. The engineer
types the row count (on a production profile also the environment's name); a batched apply shows
its progress and can be cancelled between batches. Untrusted values are rendered as plain text.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, Static

from opsconsole.actions import common, engine, guards
from opsconsole.actions.definition import ActionDef
from opsconsole.actions.model import Face, Preview, Progress, Result, Status
from opsconsole.actions.params import Choice, ParamError, choices, from_row
from opsconsole.actions.session import ActionContext, default_audit_file, open_session
from opsconsole.catalog import ActionRef, ParamSpec, ScreenSpec
from opsconsole.errors import OpsError, Refused
from opsconsole.render.actions import filled_preview, short_ids
from opsconsole.sanitize import clean
from opsconsole.tui.widgets.inputs import ConsoleInput


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


@dataclass
class PreviewReady(Message):
    """The preview worker finished (preview or error, and the guard that would refuse)."""

    preview: Preview | None
    refusal: str | None
    error: str | None


@dataclass
class ApplyProgress(Message):
    """A batch committed (a later one makes it obsolete: the dialog shows the latest)."""

    progress: Progress

    def can_replace(self, message: Message) -> bool:
        """Only the latest batch's progress is worth drawing."""
        return isinstance(message, ApplyProgress)


@dataclass
class ApplyDone(Message):
    """The apply worker finished; ``result`` says exactly what committed."""

    result: Result


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
    run_ids = getattr(getattr(app, "settings", None), "run_ids", None)
    ctx = ActionContext(
        dsn=resolved.dsn,
        profile=resolved.profile,
        catalog=app.catalog,
        writes_enabled=bool(resolved.profile.writes and until is not None and until > clock()),
        audit_file=default_audit_file(resolved),
        face=TUI_FACE,
    )
    return ctx if run_ids is None else dataclasses.replace(ctx, new_run_id=run_ids)


SAMPLE_MIN_WIDTH = 14  # a sample column narrower than this is never squeezed (a short id: 13)

DialogState = Literal["choose", "loading", "confirm", "refused", "nothing", "applying", "done"]
CLOSE_LABEL: dict[str, str] = {
    "choose": "Cancel", "loading": "Cancel", "confirm": "Cancel", "refused": "Close",
    "nothing": "Close", "applying": "Cancel after this batch", "done": "Close",
}


class ActionDialog(ModalScreen[Result | None]):
    """Preview, confirm and apply one action; dismissed with the Result (None: nothing run).

    Its ``state`` says what is on show (app.tcss shows and hides the parts per state):
    choose (a direction to pick), loading (the preview runs), confirm (count, target, sample,
    statement, the confirmation box and Apply), refused or nothing (the reason, no box, no
    Apply), applying (progress) and done (what committed). At 80x24 every state shows the
    count, the target, the box and the buttons; the sample and the statement scroll in their
    own boxes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    state: var[DialogState] = var("loading")

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
        """The box: target, count, choices, sample, statement, status, confirmation, buttons."""
        with Vertical(id="action-box") as box:
            box.border_title = Text(dialog_title(self.action, self.raw))
            yield Static(target_text(self.raw), id="action-target")
            yield Static(Text("loading the preview…"), id="action-count")
            with Vertical(id="action-choices"):
                for i, choice in enumerate(self.choices):
                    yield Button(choice.label, id=f"choice-{i}", compact=True)
            with VerticalScroll(id="action-sample-box") as sample:
                sample.border_title = "rows"
                yield Static(Text(""), id="action-sample")
            with VerticalScroll(id="action-statement-box") as statement:
                statement.border_title = "will run"
                yield Static(Text(""), id="action-statement")
            yield ProgressBar(total=1, id="action-progress", show_eta=False)
            yield Static(Text(""), id="action-status")
            with Horizontal(id="action-confirm-row"):
                yield Static(Text("confirm ", style="bold"), id="action-confirm-label")
                yield ConsoleInput(placeholder="type the row count to confirm",
                                   id="action-confirm", disabled=True, compact=True)
            with Horizontal(id="action-buttons"):
                yield Button("Apply", id="action-apply", variant="warning", disabled=True,
                             compact=True)
                yield Button("Cancel", id="action-cancel", compact=True)

    def on_mount(self) -> None:
        """Choose first (actions with a direction), else start the preview."""
        if self.choices:
            self.state = "choose"
            self._set("#action-count", Text("choose what to do", style="bold"))
            self.query_one("#choice-0", Button).focus()
        else:
            self._start_preview()

    def watch_state(self, state: DialogState) -> None:
        """Show the parts of ``state`` (CSS classes ``-<state>``) and label the close button."""
        for name in CLOSE_LABEL:
            self.set_class(name == state, f"-{name}")
        close = self.query_one("#action-cancel", Button)
        close.label = CLOSE_LABEL[state]
        close.refresh(layout=True)  # a label does not re-lay its button by itself

    @on(Button.Pressed, "#action-choices Button")
    def _chosen(self, event: Button.Pressed) -> None:
        index = int(str(event.button.id).split("-")[1])
        self.raw.update(self.choices[index].values)
        self._set("#action-target", target_text(self.raw))
        self._start_preview()

    def _start_preview(self) -> None:
        self.state = "loading"
        self._set("#action-count", Text("loading the preview…"))
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
            self._refuse(message.error or "the preview failed", "cannot preview")
            return
        preview = self.preview = message.preview
        self.refusal = message.refusal
        self.add_class("-previewed")
        self._set("#action-count", Text(_count_line(preview), style="bold"))
        self._set("#action-sample", _sample_table(preview))
        self.query_one("#action-sample-box").border_title = _sample_title(preview)
        self._set("#action-statement", Text(filled_preview(preview).strip()))
        if preview.count == 0:
            self.state = "nothing"
            why = f": {clean(preview.done)}" if preview.done else ""
            self._set("#action-status", Text(f"nothing to do{why}; nothing will be written"))
            self.query_one("#action-cancel", Button).focus()
        elif self.refusal:
            self._refuse(self.refusal)
        else:
            self._ask_confirmation(preview)

    def _refuse(self, reason: str, label: str = "refused") -> None:
        """Refused (or the preview failed): the reason, and no way to apply."""
        self.state = "refused"
        self._set("#action-status", Text(f"{label}: {clean(reason, None)}", style="bold red"))
        self.query_one("#action-cancel", Button).focus()

    def _ask_confirmation(self, preview: Preview) -> None:
        env = make_context(self.app).profile.environment
        typed = f"{preview.count} {env}" if env == "production" else f"{preview.count}"
        confirm = self.query_one("#action-confirm", Input)
        confirm.placeholder = f"type {typed} to confirm"
        confirm.disabled = False
        self.query_one("#action-apply", Button).disabled = False
        self._set("#action-status", Text(f"type {typed} and enter (or Apply) to change "
                                         f"{preview.count} rows; escape cancels"))
        self.state = "confirm"
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
            self._set("#action-status", Text(exc.message, style="bold red"))
            return
        self._start_apply(ctx, self.preview)

    def _start_apply(self, ctx: ActionContext, preview: Preview) -> None:
        self.applying = True
        self.query_one("#action-confirm", Input).disabled = True
        self.query_one("#action-apply", Button).disabled = True
        self.show_applying(preview, None)
        self.run_worker(
            lambda: self._apply_worker(ctx, preview),
            thread=True,
            exclusive=True,
            group="action-apply",
        )

    def show_applying(self, preview: Preview, progress: Progress | None) -> None:
        """Show the apply in progress: the bar and the batches committed so far.

        Args:
            preview: the preview being applied.
            progress: the last committed batch, or None before the first.
        """
        self.state = "applying"
        bar = self.query_one("#action-progress", ProgressBar)
        total = progress.batches if progress else max(len(preview.batches), 1)
        bar.update(total=total, progress=progress.batch_no if progress else 0)
        if progress is None:
            line = f"applying {preview.count} rows…"
        else:
            line = (f"batch {progress.batch_no}/{progress.batches} committed: "
                    f"{progress.affected} of {progress.previewed} rows")
        self._set("#action-status", Text(line + "; escape stops after the batch in flight"))
        self.query_one("#action-cancel", Button).focus()

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
        self.progress_seen.append(message.progress)
        if self.applying and self.preview is not None:
            self.show_applying(self.preview, message.progress)

    @on(ApplyDone)
    def _done(self, message: ApplyDone) -> None:
        self.applying = False
        self.result = message.result
        ok = message.result.exit_code == 0
        style = "bold" if ok else "bold red"
        self._set("#action-status", Text(clean(message.result.message, None), style=style))
        if self.preview is not None and self.progress_seen:
            bar = self.query_one("#action-progress", ProgressBar)
            bar.update(progress=self.progress_seen[-1].batch_no)
        self.state = "done"
        self.query_one("#action-cancel", Button).focus()
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


def dialog_title(action: ActionRef, raw: dict[str, Any]) -> str:
    """The dialog's title: the action's title and name; an undo names the audit entry."""
    if action.is_undo and raw.get("audit_id") is not None:
        run = " and the rest of its run" if raw.get("whole_run") else ""
        return f"Undo audit entry {clean(raw['audit_id'], 20)}{run} · {action.name}"
    return f"{action.title} · {action.name}"


def target_text(raw: dict[str, Any]) -> Text:
    """What the action acts on, from its parameters (Text, sanitised, no markup)."""
    text = Text(no_wrap=False, overflow="fold")
    text.append("acts on  ", style="bold")
    shown = [(k, v) for k, v in raw.items() if v is not None]
    if not shown:
        return text.append("every row the preview lists below")
    for i, (name, value) in enumerate(shown):
        text.append(" · " if i else "")
        text.append(f"{name} ", style="dim")
        text.append(clean(value, 120))
    return text


def _sample_title(preview: Preview) -> str:
    if preview.count > len(preview.sample):
        return f"rows: the first {len(preview.sample)} of {preview.count}"
    return f"rows: {preview.count}"


def _count_line(preview: Preview) -> str:
    line = f"{preview.count} rows would change"
    if len(preview.batches) > 1:
        line += f" in {len(preview.batches)} batches"
    notes = "".join(f"\nnote: {clean(n)}" for n in preview.notes)
    return line + notes


def _sample_table(preview: Preview) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    rows = short_ids(preview.sample, preview.columns)
    for column in preview.columns:
        # short columns (ids shortened, counts) keep their width; long text gives way
        widest = max([len(column), *(len(r.get(column, "")) for r in rows)])
        table.add_column(Text(column), overflow="ellipsis", no_wrap=True, max_width=38,
                         min_width=min(widest, SAMPLE_MIN_WIDTH))
    for row in rows:
        table.add_row(*(Text(row.get(c, "")) for c in preview.columns))
    return table
