"""User-facing errors: one line that says what went wrong and what to do.

Everything the CLI can meet at the edge (bad input, an unreachable server, a refused guard) is
raised as an :class:`OpsError` subclass and printed as one line on stderr, never a traceback.
The exit codes follow the monitoring-plugin convention for ``check`` (3 = UNKNOWN) and are listed
in ``opsconsole action --help`` for actions.
"""

from __future__ import annotations


class OpsError(Exception):
    """A failure the user can act on.

    Args:
        message: one line, naming the fix where there is one.
        exit_code: process exit status the CLI uses for it (int, 1-255).
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        """The one-line message (str)."""
        return str(self.args[0])


class BadInput(OpsError):
    """A parameter, DSN, profile or spec the user gave is invalid (exit code 2)."""

    exit_code = 2


class ConnectionFailed(OpsError):
    """The server could not be reached or refused the login (exit code 3: UNKNOWN)."""

    exit_code = 3


class Refused(OpsError):
    """A guard refused an action before anything was written (exit code 4)."""

    exit_code = 4


class DatabaseFailure(OpsError):
    """The database failed while an action or setup step ran (exit code 5)."""

    exit_code = 5
