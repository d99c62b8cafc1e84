"""A password never reaches any output, however malformed the DSN holding it (issue 11, items 5
and 6): not stdout, stderr, JSON, an exception's message, nor ``ps`` (``--dsn -``,
``--dsn-file``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole import cli
from opsconsole.connection import db, dsn
from opsconsole.errors import OpsError

CANARY = "Kq7ZvXw2JhQ9"
# Spliced into the password: what makes libpq's parser fail or misread it.
JUNK = ["%zz", "%", "%4", "@", "/", "?", "#", ":", "'", '"', " ", "=", "\\", "&", " x=",
        " bogus", "%40", "\t", "''", "[", "]", ","]
FRAGMENTS = {CANARY[i:i + 4] for i in range(len(CANARY) - 3)}


def leaked(text: str) -> list[str]:
    """The canary's 4-character (or longer) fragments found in ``text``."""
    return sorted(f for f in FRAGMENTS if f in text)


@st.composite
def passwords(draw: st.DrawFn) -> str:
    cut = sorted(draw(st.lists(st.integers(0, len(CANARY)), min_size=0, max_size=2)))
    pieces, last = [], 0
    for c in cut:
        pieces += [CANARY[last:c], draw(st.sampled_from(JUNK))]
        last = c
    return "".join(pieces) + CANARY[last:]


@st.composite
def dsns(draw: st.DrawFn) -> str:
    pw = draw(passwords())
    shape = draw(st.sampled_from(["uri", "uri-query", "kv", "kv-quoted", "kv-unterminated",
                                  "kv-spaced", "kv-missing-eq"]))
    tail = draw(st.sampled_from(["", " sslmode=disable", " bogus", " connect_timeout=2"]))
    query = draw(st.sampled_from(["", "?sslmode=disable", "?application_name=a@b",
                                  "?connect_timeout=2&x"]))
    if shape == "uri":
        return f"postgresql://ops:{pw}@127.0.0.1:1/app{query}"
    if shape == "uri-query":
        sep = "&" if query else "?"
        return f"postgresql://ops@127.0.0.1:1/app{query}{sep}password={pw}"
    if shape == "kv":
        return f"host=127.0.0.1 port=1 password={pw} dbname=app{tail}"
    if shape == "kv-quoted":
        return f"host=127.0.0.1 port=1 password='{pw}' user=ops{tail}"
    if shape == "kv-unterminated":
        return f"host=127.0.0.1 port=1 user=ops password='{pw}"
    if shape == "kv-spaced":
        return f"host=127.0.0.1 port=1 password = {pw}{tail}"
    return f"host=127.0.0.1 port=1 password {pw}{tail}"


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PGHOST", str(tmp_path))  # no server there (the rest: conftest.py)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("OPSCONSOLE_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=dsns())
def test_no_output_holds_the_password_of_any_dsn_shape(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []
    for argv in (["check", "--dsn", value, "--format", "json"],
                 ["action", "reset-quotas", "--dry-run", "--dsn", value, "--format", "json"]):
        code = cli.main(argv)
        out, err = capsys.readouterr()
        assert code in (2, 3), (argv, out, err)
        assert "Traceback" not in err and err.count("\n") <= 2
        seen += [out, err]
        if "--format" in argv and "json" in argv and out.strip():
            json.loads(out.strip().splitlines()[-1] if argv[0] == "action" else out)
    for fn in (dsn.target, dsn.mask, lambda d: db.connect(d, statement_timeout_ms=1000),
               lambda d: dsn.parse(d) and ""):  # parse returns the password: its errors only
        try:
            seen.append(repr(fn(value)))
        except OpsError as exc:
            seen += [exc.message, str(exc), repr(exc)]
    found = [f for text in seen for f in leaked(text)]
    assert not found, (value, found, seen)


def test_the_issues_two_messages_no_longer_hold_the_password() -> None:
    for value in (f"postgresql://ops:{CANARY}%zz@db/app", f"host=db password={CANARY[:6]} "
                  f"{CANARY[6:]}x"):
        with pytest.raises(OpsError) as info:
            dsn.parse(value)
        assert "malformed DSN" in info.value.message
        assert not leaked(info.value.message) and CANARY[6:] not in info.value.message


def test_a_uri_password_read_as_host_and_dbname_is_refused() -> None:
    """libpq reads ops:se/cret@host/db as host "ops", port "se", dbname "cret@host/db"."""
    with pytest.raises(OpsError) as info:
        dsn.target(f"postgresql://ops:{CANARY[:5]}/{CANARY[5:]}@db.internal/app")
    assert "percent-encoded" in info.value.message and not leaked(info.value.message)


def test_well_formed_dsns_still_parse_and_keep_their_names() -> None:
    uri = "postgresql://ops:pa%40ss@db.internal:6432/opsconsole?application_name=a@b"
    assert dsn.target(uri).label() == "ops@db.internal:6432/opsconsole"
    assert dsn.parse(uri)["password"] == "pa@ss"
    kv = "host=db user=ops password='it''s x' dbname=app"
    with pytest.raises(OpsError):
        dsn.parse(kv)  # libpq quotes with backslashes, not doubled quotes
    assert dsn.parse(r"host=db password='it\'s x' dbname=app")["password"] == "it's x"
    masked = dsn.mask("host=db password=secret1")
    assert "password=****" in masked and "secret1" not in masked


def test_a_password_on_the_command_line_gets_one_warning(
        capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["--dsn", f"postgresql://ops:{CANARY}@127.0.0.1:1/app", "check"])
    _, err = capsys.readouterr()
    warning, failure = err.splitlines()
    assert "warning: the password in --dsn is visible to every user of this machine in `ps`" \
        in warning and "~/.pgpass" in warning and "--dsn -" in warning
    assert "cannot connect" in failure and not leaked(err)
    cli.main(["--dsn", "postgresql://ops@127.0.0.1:1/app", "check"])
    _, err = capsys.readouterr()
    assert "warning" not in err


def test_dsn_from_stdin_and_from_a_file(seeded_dsn: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(seeded_dsn + "\n"))
    code = cli.main(["check", "--dsn", "-", "--only", "schema.migrations"])
    out, err = capsys.readouterr()
    assert code == 0 and "OK       schema.migrations" in out and "warning" not in err
    path = tmp_path / "dsn"
    path.write_text(seeded_dsn)
    code = cli.main(["--dsn-file", str(path), "check", "--only", "schema.migrations"])
    assert code == 0
    capsys.readouterr()
    for argv, message in (
            (["check", "--dsn-file", str(tmp_path / "missing")], "no such file"),
            (["check", "--dsn-file", str(tmp_path)], "is a folder"),
            (["check", "--dsn", "x", "--dsn-file", str(path)], "--dsn or --dsn-file, not both")):
        assert cli.main(argv) == 3
        _, err = capsys.readouterr()
        assert message in err and err.count("\n") == 1
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["doctor", "--dsn", "-"]) == 2
    assert "--dsn - (stdin) is empty" in capsys.readouterr().err


def test_ps_never_shows_a_password_read_from_stdin(seeded_dsn: str) -> None:
    """A real process: its command line (what `ps` shows) holds no part of the DSN."""
    params = dsn.parse(seeded_dsn)
    params["password"] = CANARY  # trust auth ignores it
    secret_dsn = " ".join(f"{k}='{v}'" for k, v in params.items())
    code = ("import sys, pathlib, os; from opsconsole import cli\n"
            "cmd = pathlib.Path(f'/proc/{os.getpid()}/cmdline').read_bytes()\n"
            "sys.stderr.write('CMDLINE ' + cmd.decode().replace(chr(0), ' ').replace(chr(10), ' ') + chr(10))\n"
            "sys.exit(cli.main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", code, "check", "--dsn", "-", "--only",
                           "schema.migrations"], check=False, input=secret_dsn, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PGHOST": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr
    cmdline = next(ln for ln in proc.stderr.splitlines() if ln.startswith("CMDLINE"))
    assert "--dsn -" in cmdline and not leaked(cmdline) and not leaked(proc.stdout)
