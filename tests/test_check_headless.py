"""`opsconsole check` for cron and scripts (issue 12): text a cron mail can use (item 8), the
history behind `--state` (item 3, headless half) and `opsconsole demo --writes` (item 6, CLI
half). On real databases; the clock is injected, nothing sleeps."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opsconsole import catalog, cli
from opsconsole.checks import engine as check_engine
from opsconsole.checks.history import History, history_path
from opsconsole.cli import commands
from opsconsole.cli.main import build_parser
from opsconsole.connection import dsn
from opsconsole.tui.app import OpsConsoleApp
from opsconsole.tui.settings import ConsoleSettings
from tests.conftest import ANCHOR
from tests.test_demo_signals import DEMO, read_until
from tests.test_tui_pilot import drive
from tests.test_tui_support import notices


class Clock:
    """The engine's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = ANCHOR

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Clock]:
    moving = Clock()
    monkeypatch.setattr(check_engine, "utc_now", moving)
    yield moving


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    _, out, _ = run(capsys, "check", "--format", "json", *args)
    return json.loads(out)


# -- item 8: text a cron mail can use -----------------------------------------------------------

def test_piped_text_keeps_every_line_whole_with_a_hint_under_each_check_not_ok(
        seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = as_json(capsys, "--dsn", seeded_dsn)
    code, out, _ = run(capsys, "check", "--dsn", seeded_dsn)  # stdout is not a terminal here
    assert code == doc["exit_code"] == 2
    lines = out.splitlines()
    assert max(len(line) for line in lines) > 120  # nothing cut at 80 columns
    for check in doc["checks"]:
        (at,) = [i for i, line in enumerate(lines) if line.startswith(
            f"{check['status']:<8} {check['id']} ")]
        assert lines[at].endswith(check["summary"]), check["id"]  # the whole summary
        hinted = at + 1 < len(lines) and lines[at + 1].startswith("         hint: ")
        assert hinted is (check["status"] != "OK"), check["id"]
        if hinted:
            assert lines[at + 1] == f"         hint: {check['runbook']}"
    assert "\x1b" not in out and "…" not in out


def test_width_cuts_summaries_but_wraps_hints_and_unknown_reasons(
        empty_dsn: str, seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(empty_dsn, autocommit=True) as conn:  # jobs present, one column short
        conn.execute("CREATE TABLE public.sms_outbound_jobs (id uuid PRIMARY KEY, status text,"
                     " purpose text, created_at timestamptz, updated_at timestamptz,"
                     " run_after timestamptz, last_error text)")
    doc = as_json(capsys, "--dsn", empty_dsn, "--only", "jobs")
    unknown = {c["id"]: c for c in doc["checks"] if c["status"] == "UNKNOWN" and c["error"]
               and len(c["error"]) > 60}
    assert "jobs.stuck_running" in unknown  # no locked_at: a long reason naming the fix
    code, out, _ = run(capsys, "check", "--dsn", empty_dsn, "--only", "jobs", "--width", "60")
    assert code == 3
    lines = out.splitlines()
    assert all(len(line) <= 60 for line in lines), max(lines, key=len)
    for ident, check in unknown.items():
        (at,) = [i for i, line in enumerate(lines) if line.startswith(f"UNKNOWN  {ident} ")]
        text = [lines[at][len(f"UNKNOWN  {ident:<32} "):]]
        for line in lines[at + 1:]:  # the rest of the reason, indented under the id
            if not line.startswith(" " * 9) or line.strip().startswith("hint:"):
                break
            text.append(line[9:])
        # wrapped, never cut (a word longer than the room is broken across lines)
        assert "".join(text).replace(" ", "") == check["error"].replace(" ", ""), ident
    _, out, _ = run(capsys, "check", "--dsn", seeded_dsn, "--width", "60")
    lines = out.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert any(line.endswith("…") for line in lines)  # a summary is cut at the width
    hint = next(i for i, line in enumerate(lines) if line.startswith("         hint: "))
    assert lines[hint + 1].startswith(" " * 15) and "…" not in lines[hint]  # it wraps


def test_on_a_terminal_text_fits_its_width(seeded_dsn: str, tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "COLUMNS": "", "TERM": "xterm"}
    env.pop("COLUMNS")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "opsconsole"), "check",
                             "--dsn", seeded_dsn], stdout=secondary, stderr=subprocess.PIPE,
                            env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=120) == 2
    lines = b"".join(chunks).decode().replace("\r\n", "\n").splitlines()
    assert len(lines) > 40
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    assert max(len(line) for line in lines) > 80  # the terminal's width, not 80


@pytest.mark.parametrize("value", ["5", "-1", "wide", "1001"])
def test_a_bad_width_is_unknown_with_one_line(value: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--dsn", "host=x", "--width", value)
    assert code == 3 and out == "" and err.count("\n") == 1 and "--width" in err


# -- item 3: check --state ----------------------------------------------------------------------

def test_state_gives_previous_and_delta_from_the_store_the_console_uses(
        fresh_seeded_dsn: str, clock: Clock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    only = ["--only", "jobs.failed_last_hour", "jobs.status_breakdown", "schema.migrations"]
    first = as_json(capsys, "--dsn", fresh_seeded_dsn, "--state", *only)
    label = dsn.target(fresh_seeded_dsn).label()
    path = history_path(label)  # no profile: the target's label names the history
    assert first["state_file"] == str(path) and path.parent == tmp_path / "state" / "opsconsole"
    assert all(c["previous"] is None and c["delta"] is None for c in first["checks"])
    before = {c["id"]: c["value"] for c in first["checks"]}

    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:  # three more failures
        conn.execute("UPDATE sms_outbound_jobs SET status = 'failed', updated_at = %s"
                     " WHERE id IN (SELECT id FROM sms_outbound_jobs WHERE status = 'sent'"
                     " ORDER BY id LIMIT 3)", (ANCHOR - timedelta(minutes=1),))
    clock.now = ANCHOR + timedelta(minutes=5)
    second = as_json(capsys, "--dsn", fresh_seeded_dsn, "--state", *only)
    by_id = {c["id"]: c for c in second["checks"]}
    failed = by_id["jobs.failed_last_hour"]
    assert failed["previous"] == {"value": before["jobs.failed_last_hour"],
                                  "status": "WARNING", "checked_at": "2026-11-20T12:00:00Z",
                                  "age_s": 300.0}
    # five minutes on, the failures of 11:04-11:05 left the window; three new ones came in
    with psycopg.connect(fresh_seeded_dsn) as conn:
        now_failed = conn.execute("SELECT count(*) FROM sms_outbound_jobs WHERE status ="
                                  " 'failed' AND updated_at >= %s",
                                  (clock.now - timedelta(hours=1),)).fetchone()
    assert now_failed is not None
    assert failed["value"] == now_failed[0]
    assert failed["delta"] == now_failed[0] - before["jobs.failed_last_hour"]
    assert by_id["jobs.status_breakdown"]["delta"] == 3
    assert by_id["schema.migrations"]["delta"] == 0

    saved = History.load(path)  # the console's own store holds both runs
    assert [s.at for s in saved.series("jobs.status_breakdown")] == [ANCHOR, clock.now]

    clock.now = ANCHOR + timedelta(minutes=20)
    _, out, _ = run(capsys, "check", "--dsn", fresh_seeded_dsn, "--state", *only)
    assert "[+0" not in out and "no change" not in out  # only changes are shown in text
    with psycopg.connect(fresh_seeded_dsn, autocommit=True) as conn:
        conn.execute("UPDATE sms_outbound_jobs SET status = 'failed' WHERE id IN (SELECT id"
                     " FROM sms_outbound_jobs WHERE status = 'sent' ORDER BY id LIMIT 2)")
    clock.now = ANCHOR + timedelta(minutes=35)
    _, out, _ = run(capsys, "check", "--dsn", fresh_seeded_dsn, "--state", *only)
    line = next(ln for ln in out.splitlines() if " jobs.status_breakdown " in ln)
    assert "[+2 jobs in 15m 0s] " in line


def test_state_is_kept_per_profile_and_off_by_default(
        seeded_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    doc = as_json(capsys, "--dsn", seeded_dsn, "--only", "jobs")
    assert "state_file" not in doc and all("previous" not in c for c in doc["checks"])
    run(capsys, "check", "--dsn", seeded_dsn, "--only", "jobs", "--format", "prometheus")
    assert not (tmp_path / "state").exists()  # cron without --state writes nothing

    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[profiles.staging]\ndsn = "{seeded_dsn}"\nenvironment = "staging"\n')
    monkeypatch.setenv("OPSCONSOLE_CONFIG", str(config_file))
    doc = as_json(capsys, "--profile", "staging", "--state", "--only", "jobs")
    assert doc["state_file"] == str(tmp_path / "state" / "opsconsole" / "history-staging.json")
    assert History.load(Path(doc["state_file"])).latest("jobs.failed_last_hour") is not None


# -- item 6: opsconsole demo --writes -----------------------------------------------------------

def test_demo_writes_lets_the_console_switch_write_mode_on(seeded_dsn: str) -> None:
    assert build_parser().parse_args(["demo", "--writes"]).writes is True
    assert build_parser().parse_args(["demo"]).writes is False
    quiet = ConsoleSettings.quiet(lambda: ANCHOR)
    for writes in (True, False):
        resolved = commands.demo_resolved(seeded_dsn, writes=writes)
        assert (resolved.profile.name, resolved.profile.environment) == ("demo", "dev")
        app = OpsConsoleApp(resolved, catalog.load(), quiet)

        async def body(pilot: Any, app: OpsConsoleApp, writes: bool = writes) -> None:
            await pilot.press("w")
            await pilot.pause()
            assert (app.write_mode_until is not None) is writes
            assert any("does not allow writes" in n for n in notices(app)) is not writes

        drive(app, body)


def test_demo_writes_says_so_when_it_starts(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", DEMO, "demo", "--no-tui", "--writes",
                             "--data-dir", str(tmp_path / "pgdata")],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        started = read_until(proc, "press ctrl+c to stop the server")
        proc.terminate()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "writes allowed (--writes): press w in the console for write mode" in started
