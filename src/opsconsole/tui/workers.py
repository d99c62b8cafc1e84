"""One handler for worker failures, shared by every node that runs workers.

A worker that raises is left by Textual in the ERROR state and posts nothing else; without a
handler its panel would wait forever (and the refresh loop would never re-arm). Every node that
runs workers (the app's checks, each table panel) mixes this in and says, in
:meth:`WorkerFailures.worker_failed`, how its failure is shown and how it carries on.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from opsconsole import sanitize


def describe_failure(error: BaseException | None) -> str:
    """One line for an unexpected worker exception: its type and message (str, sanitised)."""
    if error is None:
        return "failed"
    text = str(error).strip().splitlines()
    return sanitize.clean(f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": "), 200)


class WorkerFailures:
    """Mixin for a Textual node: turn each failed worker into a call of ``worker_failed``."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Textual's state change of one of this node's workers (only failures matter)."""
        if event.state is WorkerState.ERROR:
            self.worker_failed(event.worker, describe_failure(event.worker.error))

    def worker_failed(self, worker: Worker[object], error: str) -> None:
        """Show ``error`` where the worker's result would have gone and carry on.

        Args:
            worker: the failed worker (its ``group`` says which job it was).
            error: one sanitised line.
        """
        raise NotImplementedError
