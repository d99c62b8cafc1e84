"""`opsconsole doctor` (issue 10 item 4): every check, table and action on the connected
database, runnable or why not; exit 0 / 1 / 3; `--format json` carries every finding."""

from __future__ import annotations

import json

import pytest

from opsconsole import cli
from tests.conftest import DRIFT_READER, as_role


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_on_the_demo_database_everything_is_runnable_and_doctor_exits_0(
    seeded_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "doctor", "--dsn", seeded_dsn, "--format", "json")
    doc = json.loads(out)
    assert code == doc["exit_code"] == 0 and doc["status"] == "runnable"
    assert doc["findings"] == []
    assert all(e["state"] == "runnable" and e["runnable"] for e in doc["entries"])
    kinds = {e["kind"] for e in doc["entries"]}
    assert kinds == {"check", "table", "action"}
    assert doc["verification"]["statements"] >= 40
    assert all(s["installed"] for s in doc["subsystems"])
    entry = next(e for e in doc["entries"] if e["id"] == "jobs.failed_last_hour")
    assert entry["query_file"] == "queries/jobs.sql" and entry["subsystem"] == "jobs"
    assert entry["spec"].startswith("screens/jobs.toml:")
    code, text, _ = run(capsys, "doctor", "--dsn", seeded_dsn)
    assert code == 0 and text.startswith("opsconsole doctor RUNNABLE: 0 cannot run, ")
    assert "CANNOT RUN" not in text and "RUNNABLE (" in text


def test_a_role_rls_filters_is_told_which_checks_cannot_count(
    drift_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "doctor", "--dsn", as_role(drift_dsn, DRIFT_READER), "--format",
                       "json")
    assert code == 1
    rls = {(f["kind"], f["owner"]) for f in json.loads(out)["findings"] if f["code"] == "rls"}
    assert {("check", "moderation.soft_deleted"), ("check", "moderation.pending_reports"),
            ("table", "moderation.pending")} <= rls


def test_an_unreachable_server_exits_3_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "doctor", "--dsn", "postgresql://ops:hunter2@127.0.0.1:1/app")
    assert code == 3 and out == ""
    warning, error = err.splitlines()  # the password on the command line is warned about once
    assert "visible to every user of this machine in `ps`" in warning
    assert "cannot connect to ops@127.0.0.1:1/app" in error
    assert "hunter2" not in err
