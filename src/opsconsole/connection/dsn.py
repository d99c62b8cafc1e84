"""DSN parsing and masking, with no dependency beyond psycopg's conninfo helpers.

A DSN may be a libpq key/value string or a ``postgresql://`` URI. Passwords never leave this
module unmasked in anything meant for a screen, a log or the audit trail.

Malformed DSNs are the hard case: libpq's own messages quote the text around the error
(``invalid percent-encoded token: "<password>%zz"``, ``missing "=" after "<rest of the
password>"``), and a URI password holding ``/`` or ``@`` is silently read as a host and a
database name. So the secrets are located *before* libpq sees the DSN (:func:`secrets`, a
generous reading: a URI's userinfo up to its last ``@``; a key/value password up to the next
known libpq keyword), error text is built from a copy with the secrets replaced, and a DSN
whose parse puts part of a secret into a displayed field (host, port, dbname, user) is
refused. Every message derived from a DSN then passes :func:`mask_text`, which also masks
fragments of a secret (4 characters or more).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from psycopg import conninfo, pq

from opsconsole.errors import BadInput

MASK = "****"
MIN_FRAGMENT = 4  # a secret's substrings this long or longer are masked in messages
SECRET_KEYS = ("password", "sslpassword", "oauth_client_secret", "scram_client_key",
               "scram_server_key")
DISPLAYED_KEYS = ("host", "hostaddr", "port", "dbname", "user")
_URI = re.compile(r"^\s*postgres(?:ql)?://", re.IGNORECASE)
_HINT = "use postgresql://user@host:5432/dbname or 'host=... dbname=...'"
_PASSWORD_HINT = (
    "its password holds characters that must be percent-encoded in a URI (@ as %40, / as %2F, "
    "% as %25) or quoted in key/value form (password='...'); better, keep it in ~/.pgpass"
)


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
        BadInput: the DSN is malformed, or its parse would show part of its password as a
            host, port, database or user; the message holds no part of the password.
    """
    spans = secret_spans(dsn)
    params = _try_parse(dsn)
    if params is None:
        reason = _malformed_reason(_redact(dsn, spans), secrets(dsn))
        raise BadInput(f"malformed DSN: {reason}")
    if _leaks_into_display(dsn, spans, params):
        raise BadInput(f"malformed DSN: {_PASSWORD_HINT}")
    return params


def target(dsn: str) -> Target:
    """Return the :class:`Target` of a DSN (host, port, dbname, user; never the password).

    Raises:
        BadInput: the DSN is malformed (see :func:`parse`).
    """
    params = parse(dsn)
    return Target(
        host=params.get("host", ""),
        port=params.get("port", ""),
        dbname=params.get("dbname", ""),
        user=params.get("user", ""),
    )


def mask(dsn: str) -> str:
    """Return the DSN as key/value text with every secret replaced by ``****``.

    Raises:
        BadInput: the DSN is malformed.
    """
    params = parse(dsn)
    for key in SECRET_KEYS:
        if key in params:
            params[key] = MASK
    return conninfo.make_conninfo(**params)


def has_password(dsn: str) -> bool:
    """Whether the DSN carries a password or another secret (bool; works on malformed DSNs)."""
    return bool(secrets(dsn))


def mask_text(text: str, dsn: str | None) -> str:
    """Remove the DSN's secrets, and any fragment of them of 4+ characters, from ``text``.

    Args:
        text: any message, e.g. a server or libpq error.
        dsn: the DSN the message is about (None or "": nothing to mask).

    Returns:
        str with each secret (or fragment) replaced by ``****``.
    """
    if not dsn:
        return text
    for secret in sorted(secrets(dsn), key=len, reverse=True):
        text = mask_fragments(text, secret)
    return text


def mask_fragments(text: str, secret: str, min_len: int = MIN_FRAGMENT) -> str:
    """Replace ``secret`` and every substring of it ``min_len`` long or longer in ``text``.

    Returns:
        str; each masked run becomes one ``****``.
    """
    if not secret:
        return text
    if len(secret) < min_len:
        return text.replace(secret, MASK)
    grams = {secret[i : i + min_len] for i in range(len(secret) - min_len + 1)}
    covered = [False] * len(text)
    for i in range(len(text) - min_len + 1):
        if text[i : i + min_len] in grams:
            covered[i : i + min_len] = [True] * min_len
    out: list[str] = []
    for i, ch in enumerate(text):
        if not covered[i]:
            out.append(ch)
        elif i == 0 or not covered[i - 1]:
            out.append(MASK)
    return "".join(out)


def secrets(dsn: str) -> set[str]:
    """Every secret a DSN may hold, as written and decoded (set[str]; non-empty strings).

    Read generously so that a malformed DSN's secret is found too: what libpq parses as a
    secret keyword, plus :func:`secret_spans` (and their percent-decoded or unescaped forms).
    """
    found: set[str] = set()
    for start, end in secret_spans(dsn):
        found.update(_forms(dsn[start:end]))
    params = _try_parse(dsn)
    for key in SECRET_KEYS:
        if params and params.get(key):
            found.add(params[key])
    return {s for s in found if s}


def secret_spans(dsn: str) -> list[tuple[int, int]]:
    """Where the secrets are in the DSN's text: (start, end) index pairs (list).

    A URI's password runs from the first ``:`` of its userinfo to the last ``@`` before its
    query; a ``password=`` (or another secret keyword) value runs to the next ``&`` or
    whitespace that is followed by a known libpq keyword and ``=``, or to the end (a quoted
    key/value value: to its closing quote).
    """
    spans: list[tuple[int, int]] = []
    uri = _URI.match(dsn)
    if uri:
        start = uri.end()
        query = _next_keyword(dsn, start, r"\?")
        at = dsn.rfind("@", start, query)
        colon = dsn.find(":", start, at) if at >= 0 else -1
        if colon >= 0:
            spans.append((colon + 1, at))
        sep = r"[?&]"
    else:
        sep = r"(?:^|\s)"
    keys = "|".join(SECRET_KEYS)
    for m in re.finditer(rf"{sep}(?:{keys})\s*=\s*", dsn[uri.end() if uri else 0 :]):
        begin = m.end() + (uri.end() if uri else 0)
        spans.append(_value_span(dsn, begin, bool(uri)))
    return [(a, b) for a, b in spans if b > a]


def _value_span(dsn: str, begin: int, in_uri: bool) -> tuple[int, int]:
    end = _next_keyword(dsn, begin, "&" if in_uri else r"\s+")
    if not in_uri and begin < end and dsn[begin] == "'":  # quoted: inside the outer quotes,
        inner = dsn[begin + 1 : end].rstrip().removesuffix("'")  # as generous as unquoted
        return begin + 1, begin + 1 + len(inner)
    return begin, end


@lru_cache(maxsize=1)
def _keywords() -> str:
    names = sorted((o.keyword.decode() for o in pq.Conninfo.get_defaults()), key=len, reverse=True)
    return "|".join(re.escape(n) for n in names)


def _next_keyword(dsn: str, begin: int, separator: str) -> int:
    """Index where the next ``<separator>keyword=`` starts after ``begin`` (or the end)."""
    m = re.compile(rf"{separator}(?:{_keywords()})\s*=").search(dsn, begin)
    return m.start() if m else len(dsn)


def _try_parse(dsn: str) -> dict[str, str] | None:
    try:
        return {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items()}
    except Exception:  # psycopg.ProgrammingError; its message may quote the secret
        return None


def _redact(dsn: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        dsn = dsn[:start] + MASK + dsn[end:]
    return dsn


def _malformed_reason(redacted: str, found: set[str]) -> str:
    """Why the DSN does not parse, from the redacted copy (str, one line, no secret)."""
    reason: str | None = None
    try:
        conninfo.conninfo_to_dict(redacted)
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        reason = lines[0].strip() if lines else "unknown error"
    if reason is None:  # only the secret itself was malformed
        return _PASSWORD_HINT
    for secret in sorted(found, key=len, reverse=True):
        reason = mask_fragments(reason, secret)
    return f"{reason}; {_HINT}"


def _forms(raw: str) -> set[str]:
    """A secret as written, percent-decoded (URI) and unescaped (key/value)."""
    return {raw, unquote(raw), re.sub(r"\\(.)", r"\1", raw)}


def _leaks_into_display(dsn: str, spans: list[tuple[int, int]], params: dict[str, str]) -> bool:
    """Whether libpq read part of a secret as a host, port, dbname or user (bool).

    Only when libpq's parse disagrees with :func:`secret_spans` (a URI password holding an
    unencoded ``/`` or ``@``): then a displayed field holding ``@`` or a 4-character fragment
    of the secret is a leak.
    """
    parsed = {params[k] for k in SECRET_KEYS if params.get(k)}
    disagree = [dsn[a:b] for a, b in spans if not _forms(dsn[a:b]) & parsed]
    if not disagree:
        return False
    shown = [params.get(k, "") for k in DISPLAYED_KEYS]
    if any("@" in value for value in shown):  # user:pa/ss@host read as host:port/dbname
        return True
    return any(mask_fragments(value, s) != value for value in shown for s in disagree)
