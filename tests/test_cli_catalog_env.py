"""``OPSCONSOLE_CATALOG`` is the default of ``--catalog``: every command that loads the catalog
uses it, ``--catalog`` beats it before or after the command, and a folder that is no catalog
fails with the same one line as from the option, naming the variable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opsconsole import catalog
from tests.conftest import MARKER
from tests.test_cli_options import both_ways, one_line, run

VARIABLE = "OPSCONSOLE_CATALOG"



def pending_error(out: str) -> str:
    """The error of moderation.pending_reports in ``check --format json`` output."""
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    return str(checks["moderation.pending_reports"]["error"] or "")


def test_check_uses_the_catalog_of_the_variable(
        seeded_dsn: str, catalog_copy: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(VARIABLE, str(catalog_copy))
    code, out, err = run(capsys, "check", "--dsn", seeded_dsn, "--only", "moderation",
                         "--format", "json")
    assert MARKER.rsplit(".", 1)[1] in pending_error(out), err  # the copy was used
    assert code >= 2


def test_the_option_beats_the_variable_before_or_after_the_command(
        seeded_dsn: str, catalog_copy: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    shipped = str(catalog.default_root())
    monkeypatch.setenv(VARIABLE, str(catalog_copy))
    for argv in both_ways(["check"], ["--dsn", seeded_dsn, "--catalog", shipped],
                          ["--only", "moderation", "--format", "json"]):
        _, out, err = run(capsys, *argv)
        assert MARKER.rsplit(".", 1)[1] not in pending_error(out), (argv, err)
    monkeypatch.setenv(VARIABLE, "/nonexistent")
    for argv in both_ways(["check"], ["--dsn", seeded_dsn, "--catalog", str(catalog_copy)],
                          ["--only", "moderation", "--format", "json"]):
        _, out, err = run(capsys, *argv)
        assert MARKER.rsplit(".", 1)[1] in pending_error(out), (argv, err)


def test_tui_and_doctor_use_the_catalog_of_the_variable(
        seeded_dsn: str, catalog_copy: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from opsconsole.tui import app

    opened: list[tuple[Any, Any]] = []

    def run_tui(resolved: Any, cat: Any, *, monitor: Any, first_pass: Any) -> int:
        first_pass.result(timeout=60)  # the first checks started before Textual loaded
        monitor.close()
        opened.append((resolved, cat))
        return 0

    monkeypatch.setattr(app, "run", run_tui)
    monkeypatch.setenv(VARIABLE, str(catalog_copy))
    code, _, err = run(capsys, "--dsn", seeded_dsn, "tui")
    assert code == 0, err
    _, cat = opened.pop()
    checks = {c.id: c for s in cat.screens for c in s.checks}
    assert MARKER in checks["moderation.pending_reports"].requires
    code, out, err = run(capsys, "doctor", "--dsn", seeded_dsn, "--format", "json")
    assert code == 1, err  # the marker cannot be found: the copy was used
    found = [f["message"] for f in json.loads(out)["findings"]
             if f["owner"] == "moderation.pending_reports"]
    assert any(MARKER.replace("public.", "column public.") in m for m in found), found


@pytest.mark.parametrize(("command", "code_expected"), [
    (["check"], 3), (["doctor"], 2), (["tui"], 2), (["demo"], 2),
    (["action", "reset-quotas", "--dry-run"], 2),
])
def test_a_variable_naming_no_catalog_fails_with_the_options_line_and_its_name(
        command: list[str], code_expected: int, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    dsn = ["--dsn", "host=/nonexistent-socket-dir"] if command[0] != "demo" else []
    code, _, from_option = run(capsys, *dsn, *command, "--catalog", "/nonexistent")
    assert code == code_expected
    monkeypatch.setenv(VARIABLE, "/nonexistent")
    code, _, from_variable = run(capsys, *dsn, *command)
    assert code == code_expected, from_variable
    line = one_line(from_variable)
    assert line.startswith(f"opsconsole: {VARIABLE}: ") or f" {VARIABLE}: " in line, line
    assert "catalog /nonexistent has no queries/ folder" in line
    assert "catalog /nonexistent has no queries/ folder" in one_line(from_option)
