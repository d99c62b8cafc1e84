"""DSN parsing and masking, with no dependency beyond psycopg's conninfo helpers.

A DSN may be a libpq key/value string or a ``postgresql://`` URI. Passwords never leave this
module unmasked in anything meant for a screen, a log or the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import conninfo

from opsconsole.errors import BadInput

MASK = "****"


@dataclass(frozen=True)
class Target:
    """Where a DSN points, without its secret.

    Attributes:
        host: host name or unix-socket directory ("" for libpq's default).
        port: port as text ("" for the default, 5432).
        dbname: database name ("" for libpq's default).
        user: role name ("" for libpq's default).
    """

    host: str
    port: str
    dbname: str
    user: str

    def label(self) -> str:
        """Return ``user@host:port/dbname`` for headers and messages (str, no password)."""
        host = self.host or "localhost"
        if host.startswith("/"):
            host = "socket"
        port = f":{self.port}" if self.port else ""
        return f"{self.user or '-'}@{host}{port}/{self.dbname or '-'}"


def parse(dsn: str) -> dict[str, str]:
    """Parse a DSN into libpq keywords.

    Args:
        dsn: libpq key/value string or URI.

    Returns:
        dict of keyword -> value (str).

    Raises:
        BadInput: the DSN is malformed (the message never contains the password).
    """
    try:
        return {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items()}
    except Exception as exc:  # psycopg.ProgrammingError; message may echo the DSN
        hint = "use postgresql://user@host:5432/dbname or 'host=... dbname=...'"
        raise BadInput(f"malformed DSN ({_first_line(mask_text(str(exc), dsn))}): {hint}") from exc


def target(dsn: str) -> Target:
    """Return the :class:`Target` of a DSN (host, port, dbname, user; never the password)."""
    params = parse(dsn)
    return Target(
        host=params.get("host", ""),
        port=params.get("port", ""),
        dbname=params.get("dbname", ""),
        user=params.get("user", ""),
    )


def mask(dsn: str) -> str:
    """Return the DSN as key/value text with any password replaced by ``****``.

    Raises:
        BadInput: the DSN is malformed.
    """
    params = parse(dsn)
    if "password" in params:
        params["password"] = MASK
    return conninfo.make_conninfo(**params)


def mask_text(text: str, dsn: str | None) -> str:
    """Remove the DSN's password (if any) from arbitrary text, e.g. a server error message."""
    if not dsn:
        return text
    try:
        password = conninfo.conninfo_to_dict(dsn).get("password")
    except Exception:
        return text.replace(dsn, "<dsn>")
    if password:
        text = text.replace(str(password), MASK)
    return text


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
