"""Every connection option means the same before and after the command (issue 11, item 1).

Each test runs with ``PGHOST`` pointing at an empty folder, so a command that dropped the
option and fell back to libpq's defaults fails loudly ("no server on that socket") instead of
quietly reaching another server; and proves which DSN, profile or catalog it used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opsconsole import cli
from opsconsole.cli.main import _command_index
from opsconsole.connection.dsn import target
from tests.conftest import MARKER


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """On top of the suite's isolated environment: libpq's default host is an empty folder; a
    config file."""
    nowhere = tmp_path / "no-server-here"
    nowhere.mkdir()
    monkeypatch.setenv("PGHOST", str(nowhere))
    monkeypatch.setenv("OPSCONSOLE_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path


def write_profile(folder: Path, name: str, dsn: str, extra: str = "") -> None:
    (folder / "config.toml").write_text(f'[profiles.{name}]\ndsn = "{dsn}"\n{extra}')



def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def both_ways(command: list[str], options: list[str], rest: list[str] = ()) -> list[list[str]]:
    """``OPTIONS COMMAND REST`` and ``COMMAND REST OPTIONS``."""
    return [options + command + list(rest), command + list(rest) + options]


def dbname(dsn: str) -> str:
    return target(dsn).dbname


def test_check_uses_dsn_profile_and_catalog_given_before_or_after(
        seeded_dsn: str, isolated: Path, catalog_copy: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    write_profile(isolated, "target", seeded_dsn)
    for options in (["--dsn", seeded_dsn], ["--profile", "target"],
                    ["--dsn-file", str(isolated / "dsn.txt")]):
        (isolated / "dsn.txt").write_text(seeded_dsn + "\n")
        for argv in both_ways(["check"], [*options, "--catalog", str(catalog_copy)],
                              ["--only", "moderation", "--format", "json"]):
            code, out, err = run(capsys, *argv)
            doc = json.loads(out)
            assert doc["target"]["dbname"] == dbname(seeded_dsn), (argv, err)
            pending = {c["id"]: c for c in doc["checks"]}["moderation.pending_reports"]
            assert MARKER.rsplit(".", 1)[1] in pending["error"], argv  # the copy was used
            assert code == doc["exit_code"] >= 2


def test_doctor_uses_dsn_profile_and_catalog_given_before_or_after(
        seeded_dsn: str, isolated: Path, catalog_copy: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    write_profile(isolated, "target", seeded_dsn)
    for options in (["--dsn", seeded_dsn], ["--profile", "target"]):
        for argv in both_ways(["doctor"], [*options, "--catalog", str(catalog_copy)],
                              ["--format", "json"]):
            code, out, err = run(capsys, *argv)
            assert code == 1, (argv, err)  # the marker cannot be found: cannot run
            doc = json.loads(out)
            assert doc["target"]["dbname"] == dbname(seeded_dsn)
            found = [f["message"] for f in doc["findings"]
                     if f["owner"] == "moderation.pending_reports"]
            assert any(MARKER.replace("public.", "column public.") in m for m in found), found


def test_tui_resolves_dsn_profile_and_catalog_given_before_or_after(
        seeded_dsn: str, isolated: Path, catalog_copy: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from opsconsole.tui import app

    opened: list[tuple[Any, Any]] = []

    def run_tui(resolved: Any, cat: Any, *, monitor: Any, first_pass: Any) -> int:
        # the first checks were started before Textual loaded, on the database given
        results = first_pass.result(timeout=60)
        monitor.close()
        assert any(r.error is None for r in results)  # it reached that database
        opened.append((resolved, cat))
        return 0

    monkeypatch.setattr(app, "run", run_tui)
    write_profile(isolated, "target", seeded_dsn, 'environment = "staging"\n')
    cases = [(["--dsn", seeded_dsn], "--dsn"), (["--profile", "target"], "profile target")]
    for options, source in cases:
        for argv in [*both_ways(["tui"], [*options, "--catalog", str(catalog_copy)]),
                     [*options, "--catalog", str(catalog_copy)]]:  # tui is the default
            code, _, err = run(capsys, *argv)
            assert code == 0, (argv, err)
            resolved, cat = opened.pop()
            assert resolved.dsn == seeded_dsn and resolved.source == source, argv
            assert resolved.profile.environment == ("staging" if "profile" in source
                                                    else "unknown")
            checks = {c.id: c for s in cat.screens for c in s.checks}
            assert MARKER in checks["moderation.pending_reports"].requires


def test_action_dry_run_uses_dsn_and_profile_given_before_or_after(
        seeded_dsn: str, isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_profile(isolated, "target", seeded_dsn)
    for options in (["--dsn", seeded_dsn], ["--profile", "target"]):
        for argv in both_ways(["action"], options, ["reset-quotas", "--dry-run",
                                                    "--format", "json"]):
            code, out, err = run(capsys, *argv)
            assert code == 0, (argv, err)
            assert json.loads(out.splitlines()[-1])["status"] in ("dry-run", "nothing-to-do")
    for argv in both_ways(["action"], ["--dsn", seeded_dsn, "--catalog", "/nonexistent"],
                          ["reset-quotas", "--dry-run"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "/nonexistent has no queries/ folder" in one_line(err)


def test_db_init_and_seed_use_the_dsn_given_before_or_after(
        seeded_dsn: str, empty_dsn: str, isolated: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    first, second = both_ways(["db", "init"], ["--dsn", empty_dsn])
    code, out, err = run(capsys, *first)
    assert code == 0 and "schema created" in out and dbname(empty_dsn) in out, err
    code, out, err = run(capsys, *second)
    assert code == 0 and "already initialised" in out and dbname(empty_dsn) in out, err
    for argv in both_ways(["db", "seed"], ["--dsn", seeded_dsn]):
        code, _, err = run(capsys, *argv)
        assert code == 4 and "already seeded (scale 1, seed 42" in one_line(err), argv
    for argv in both_ways(["db", "init"], ["--profile", "target"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "--profile: not used by db init" in one_line(err)
    code, _, err = run(capsys, "db", "seed")
    assert code == 2 and "db seed needs the database it writes: --dsn" in one_line(err)


def test_demo_options_parse_the_same_before_or_after(
        isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # each refused before any server starts (a server start would take seconds, and leave one)
    for argv in both_ways(["demo"], ["--catalog", "/nonexistent"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "/nonexistent has no queries/ folder" in one_line(err), argv
    for argv in both_ways(["demo"], ["--dsn", "host=db.internal"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "--dsn: demo runs its own server" in one_line(err), argv
    code, _, err = run(capsys, "demo", "--scale", "0")
    assert code == 2 and "--scale must be between 1 and" in one_line(err)


def test_unknown_profile_and_missing_catalog_fail_with_one_line_before_or_after(
        isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_profile(isolated, "staging", "host=db.internal")
    for command, code_expected in ((["check"], 3), (["doctor"], 2), (["tui"], 2)):
        for argv in both_ways(command, ["--profile", "nope"]):
            code, _out, err = run(capsys, *argv)
            assert code == code_expected, argv
            assert "no profile 'nope' in" in one_line(err) and "(profiles: staging)" in err
        for argv in both_ways(command, ["--catalog", "/nonexistent"]):
            code, _, err = run(capsys, *argv)
            assert code == code_expected and "/nonexistent has no queries/ folder" in one_line(err)


def test_an_empty_dsn_is_refused_with_one_line(isolated: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--dsn", "", "check"], ["check", "--dsn", " "], ["--dsn", "", "doctor"],
                 ["db", "init", "--dsn", ""], ["--dsn", "", "action", "reset-quotas",
                                               "--dry-run"]):
        code, _, err = run(capsys, *argv)
        assert code == (3 if "check" in argv else 2), argv
        assert "--dsn is empty" in one_line(err)


def test_help_shows_a_usage_that_works(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    usage = " ".join(out.split("\n\n")[0].split())
    assert usage.startswith("usage: opsconsole [-h] [--dsn DSN] [--dsn-file PATH]")
    assert usage.index("--profile PROFILE") < usage.index("COMMAND")
    assert "connection (before or after the command)" in out
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0 and "usage: opsconsole check [-h] [--dsn DSN]" in " ".join(out.split())


def test_command_index_skips_every_value_option() -> None:
    argv = ["--dsn", "x", "--dsn-file", "f", "--profile", "p", "--catalog", "c", "action", "n"]
    assert _command_index(argv) == 8
    assert _command_index(["--dsn=x", "check"]) == 1


def test_check_jobs_given_before_or_after_and_refused_elsewhere(
        seeded_dsn: str, isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_profile(isolated, "target", seeded_dsn)
    seen = []
    for jobs in ("1", "3"):
        for argv in both_ways(["check"], ["--profile", "target", "--jobs", jobs],
                              ["--only", "moderation", "--format", "json"]):
            code, out, err = run(capsys, *argv)
            doc = json.loads(out)
            assert doc["target"]["dbname"] == dbname(seeded_dsn), (argv, err)
            assert code == doc["exit_code"], argv
            seen.append([(c["id"], c["status"]) for c in doc["checks"]])
    assert all(s == seen[0] for s in seen)  # --jobs 1 and 3, before or after: the same
    for bad in ("0", "9", "x"):
        for argv in both_ways(["check"], ["--profile", "target", "--jobs", bad]):
            code, _, err = run(capsys, *argv)
            assert code == 3 and "--jobs" in one_line(err), argv
    for command in (["doctor"], ["tui"]):
        for argv in both_ways(command, ["--profile", "target", "--jobs", "2"]):
            code, _, err = run(capsys, *argv)
            assert code == 2 and "--jobs: only `opsconsole check` takes it" in one_line(err)
    assert _command_index(["--jobs", "2", "check"]) == 2
