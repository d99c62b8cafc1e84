"""``opsconsole action``: dry-run, --yes --expect, the JSON shape, exit codes, one-line errors,
and hypothesis-generated parameters that never produce a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole.actions import engine
from opsconsole.actions.definition import ActionDef
from opsconsole.actions.session import open_session
from opsconsole.cli import main as cli_main
from opsconsole.errors import BadInput
from tests.conftest import REPO
from tests.test_actions_support import ERR_A, G_LINKED, U1, make_ctx, plant, run_cli, scalar

JSON_KEYS = {"action", "status", "previewed", "affected", "skipped", "batches", "audit_ids",
             "values", "message", "run_id", "skipped_keys"}


@pytest.fixture(scope="module")
def cli_dsn(seeded_dsn: str) -> str:
    """A module-wide seeded clone with the planted rows (these tests write nothing)."""
    plant(seeded_dsn)
    return seeded_dsn


def audit_count(dsn: str) -> int:
    return int(scalar(dsn, "SELECT count(*) FROM opsconsole.audit_log"))


def test_help_lists_actions_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["action", "--help"]) == 0
    out = capsys.readouterr().out
    for name in ("backfill-guest", "backfill-all", "replay-jobs", "reenqueue-coordination",
                 "set-flag", "set-trigger", "resolve-report", "reset-quotas", "undo"):
        assert name in out
    for line in ("0  applied", "2  bad input", "3  cannot connect", "4  refused", "5  database"):
        assert line in out
    assert cli_main(["action", "set-flag", "--help"]) == 0
    assert "--confirm-env" in capsys.readouterr().out


def test_dry_run_previews_and_writes_nothing(
    cli_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = audit_count(cli_dsn)
    code = cli_main(["--dsn", cli_dsn, "action", "backfill-guest", "--guest-id", G_LINKED,
                     "--user-id", U1, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "backfill-guest: 3 rows would change" in out
    assert "UPDATE public.message_deliveries" in out and ":guest_id" in out
    assert "nothing written" in out and "writes are off" in out
    assert audit_count(cli_dsn) == before


def test_json_shape_and_expect_mismatch_is_refused(
    cli_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, cli_dsn, "replay-jobs", "--last-error", ERR_A, "--dry-run")
    assert code == 0 and set(out) == JSON_KEYS
    assert out["status"] == "dry-run" and out["previewed"] == 3 and out["audit_ids"] == []
    before = audit_count(cli_dsn)
    code, out, err = run_cli(capsys, cli_dsn, "replay-jobs", "--last-error", ERR_A, "--yes",
                             "--expect", "4", "--allow-writes")
    assert code == 4 and out["status"] == "refused" and set(out) == JSON_KEYS
    assert "the preview has 3 rows but 4 was confirmed" in err
    assert audit_count(cli_dsn) == before
    assert scalar(cli_dsn, "SELECT count(*) FROM public.sms_outbound_jobs WHERE last_error = %s"
                           " AND status = 'failed'", (ERR_A,)) == 3


@pytest.mark.parametrize("args,needle", [
    (["backfill-guest", "--guest-id", "nope", "--user-id", U1, "--dry-run"], "not a UUID"),
    (["replay-jobs", "--dry-run"], "exactly one selector"),
    (["replay-jobs", "--purpose", "  ", "--dry-run"], "non-empty"),
    (["resolve-report", "--report-id", "1.5", "--dismiss", "--dry-run"], "whole number"),
    (["resolve-report", "--report-id", "3", "--dry-run"], "--dismiss/--uphold is required"),
    (["set-flag", "--name", "x y", "--on", "--dry-run"], "not a flag name"),
    (["set-flag", "--name", "A", "--on", "--off"], "not allowed with"),
    (["reset-quotas"], "preview with --dry-run"),
    (["reset-quotas", "--yes"], "--yes needs --expect"),
    (["reset-quotas", "--yes", "--expect", "x"], "not a whole number"),
    (["backfill-all", "--batch-size", "0", "--dry-run"], "--batch-size must be"),
    (["no-such-action"], "invalid choice"),
    (["undo", "--dry-run"], "AUDIT_ID"),
])
def test_bad_input_is_one_line_exit_2(
    cli_dsn: str, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code = cli_main(["--dsn", cli_dsn, "action", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unreachable_server_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["--dsn", "postgresql://nobody:s3cret@127.0.0.1:1/x", "action",
                     "reset-quotas", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 3 and "cannot connect" in err and "s3cret" not in err


def test_subprocess_bad_uuid_is_one_line(cli_dsn: str) -> None:
    exe = Path(sys.executable).parent / "opsconsole"
    proc = subprocess.run(
        [str(exe), "--dsn", cli_dsn, "action", "reenqueue-coordination", "--linkup-id",
         "not-a-uuid", "--dry-run"], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--linkup-id 'not-a-uuid' is not a UUID" in proc.stderr


NAMES = ["backfill-guest", "replay-jobs", "resolve-report", "set-flag", "set-trigger", "undo"]
junk = st.one_of(st.none(), st.text(max_size=50), st.integers(), st.booleans(),
                 st.floats(allow_nan=True), st.uuids().map(str))


@pytest.fixture(scope="module")
def defined(cli_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ActionDef[Any]]:
    """The actions as the server typed their parameters (uuid, bigint, text, boolean)."""
    ctx = make_ctx(cli_dsn, tmp_path_factory.mktemp("audit") / "audit.jsonl")
    with open_session(ctx) as session:
        return {name: engine.define(session, ctx, name) for name in NAMES}


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), raw=st.dictionaries(
    st.sampled_from(["guest_id", "user_id", "job_id", "last_error", "purpose", "no_last_error",
                     "report_id", "decision", "name", "enabled", "audit_id", "whole_run",
                     "linkup_id", "other"]), junk, max_size=4))
def test_parameter_validation_only_ever_raises_bad_input(
    defined: dict[str, ActionDef[Any]], name: str, raw: dict[str, object]
) -> None:
    try:
        defined[name].parse(raw)
    except BadInput as exc:
        assert "\n" not in exc.message


ACTION_ARGS = {
    "backfill-guest": lambda v: ["--guest-id", v, "--user-id", v],
    "reenqueue-coordination": lambda v: ["--linkup-id", v],
    "replay-jobs": lambda v: ["--job-id", v],
    "replay-jobs-error": lambda v: ["--last-error", v],
    "set-flag": lambda v: ["--name", v, "--on"],
    "set-trigger": lambda v: ["--name", v, "--disable"],
    "resolve-report": lambda v: ["--report-id", v, "--uphold"],
    "undo": lambda v: [v],
}


@pytest.mark.slow
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(sorted(ACTION_ARGS)),
       value=st.one_of(st.text(max_size=40), st.integers().map(str), st.uuids().map(str)))
def test_random_parameters_never_produce_a_traceback(
    cli_dsn: str, capsys: pytest.CaptureFixture[str], action: str, value: str
) -> None:
    name = action.removesuffix("-error")
    code = cli_main(["--dsn", cli_dsn, "action", name, *ACTION_ARGS[action](value),
                     "--dry-run", "--format", "json"])
    err = capsys.readouterr().err
    assert code in (0, 2, 4), err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1


def test_never_a_password_in_audit_or_output(
    cli_dsn: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    params = psycopg.conninfo.conninfo_to_dict(cli_dsn)
    params["password"] = "hunter2-secret"
    with_password = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
    code = cli_main(["--dsn", with_password, "action", "replay-jobs", "--last-error", ERR_A,
                     "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0 and "hunter2" not in out + err


def test_the_action_core_does_not_import_textual() -> None:
    code = ("import sys, opsconsole.cli.action, opsconsole.actions.engine; "
            "sys.exit('textual' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
