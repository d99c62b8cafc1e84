"""No argument list and no config file makes the CLI print a traceback (issue 11, item 15).

``cli.main`` runs in-process over random option orders, values and junk, with random config
files, ``--dsn -`` input and ``--dsn-file`` contents. It must return an exit code of its class
(``check``: 0-3 only, a monitoring plugin reads anything else as a crash) and print at most one
line per failure, never a traceback or an "internal error". The console and the demo server are
stubbed out: they would open a terminal UI or start PostgreSQL.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole import cli
from opsconsole.errors import OpsError

EXAMPLES = int(os.environ.get("OPSCONSOLE_FUZZ_EXAMPLES", "80"))
JUNK = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
CONFIGS = [
    "", "profiles = 5\n", "[[profiles]]\ndsn = 'x'\n", "[profiles\n", "[defaults]\nrefresh_s = -1\n",
    "[profiles.good]\ndsn = '{dsn}'\n", "[profiles.good]\ndsn = '{dsn}'\nwrites = 'yes'\n",
    "[profiles.bad]\ndsn = 'host=127.0.0.1 port=1'\nenvironment = 'prod'\n",
    "[profiles.good]\ndsn = '{dsn}'\n[profiles.bad]\ndsn = 5\n", "defaults = []\n",
    "\xff\xfe", "[profiles.x]\nunknown = 1\n", "profiles.x = 5\n",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, seeded_dsn: str) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "dsn.txt").write_text(seeded_dsn)
    (root / "junk.txt").write_bytes(b"\xff\x00 two\nlines")
    (root / "folder").mkdir()
    (root / "empty-socket-dir").mkdir()
    return {"root": str(root), "dsn": seeded_dsn}


def tokens(world: dict[str, str]) -> st.SearchStrategy[str]:
    root = world["root"]
    values = [
        "check", "doctor", "db", "init", "seed", "action", "reset-quotas", "set-flag", "undo",
        "--dsn", "--dsn-file", "--profile", "--catalog", "--only", "--format", "--timeout",
        "--output", "--scale", "--seed", "--dry-run", "--yes", "--expect", "--name", "--on",
        "--help", "--version", "--", "-", "=", "--dsn=", "--format=json", "--timeout=nan",
        "json", "prometheus", "text", "nan", "inf", "1e400", "-1", "0", "0.5", "7", "Moderation",
        "moderation.pending_reports", "nope", "good", "bad", "", " ", "host=127.0.0.1 port=1",
        "postgresql://ops:pw@127.0.0.1:1/x", "postgresql://ops:pw%zz@h/x", "host=x password=p q",
        world["dsn"], f"{root}/dsn.txt", f"{root}/junk.txt", f"{root}/folder", f"{root}/missing",
        f"{root}/out.prom", f"{root}/folder/out.json", f"{root}/nope/out.json", "/nonexistent",
        "\x1b]52;c;ZXZpbA==\x07", "\x9d", "\x00",
    ]
    return st.one_of(st.sampled_from(values), JUNK)


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch, world: dict[str, str]) -> None:
    from opsconsole.cli import commands
    from opsconsole.demo import server

    def no_server(*args: object) -> None:
        raise OpsError("stub: the fuzz test starts no demo server")

    monkeypatch.setattr(commands, "_run_tui", lambda resolved, cat: 0)
    monkeypatch.setattr(server, "start", no_server)
    monkeypatch.setenv("PGHOST", f"{world['root']}/empty-socket-dir")
    monkeypatch.setenv("OPSCONSOLE_CONFIG", f"{world['root']}/config.toml")
    monkeypatch.setenv("OPSCONSOLE_AUDIT_FILE", f"{world['root']}/audit.jsonl")
    monkeypatch.chdir(world["root"])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_arguments_and_no_config_make_a_traceback(
        data: st.DataObject, world: dict[str, str], stubs: None,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config = data.draw(st.one_of(st.sampled_from(CONFIGS), JUNK), label="config")
    Path(world["root"], "config.toml").write_bytes(
        config.format(dsn=world["dsn"]).encode("utf-8", "surrogateescape")
        if "{dsn}" in config else config.encode("latin-1", "replace"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(data.draw(JUNK, label="stdin")))
    head = data.draw(st.sampled_from([[], ["check"], ["doctor"], ["action"], ["db", "init"],
                                      ["check", "--format", "json"]]), label="head")
    argv = head + data.draw(st.lists(tokens(world), max_size=7), label="argv")
    if not any(t in argv for t in ("check", "doctor", "action", "db", "demo", "--help",
                                   "--version", "-h")):
        argv = ["check", *argv]  # nothing here may open the console (stubbed, but slow)
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err, (argv, err)
    assert isinstance(code, int) and 0 <= code <= 5, (argv, code, err)
    failures = [ln for ln in err.splitlines() if "warning:" not in ln]
    assert len(failures) <= 1 or "batch" in err, (argv, err)
    command = cli_command(argv)
    if command == "check":
        assert code <= 3, (argv, code, err)


def cli_command(argv: list[str]) -> str:
    from opsconsole.cli.main import _command

    return _command(argv)
