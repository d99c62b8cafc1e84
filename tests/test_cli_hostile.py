"""Database text reaches no CLI output raw (issue 11, item 7): a flag name and a report's
``reviewed_by`` holding a clipboard write (OSC 52), a clear-screen and a C1 control are echoed
by set-flag, resolve-report, check, doctor and the action previews; every byte they print is
grepped for ESC, BEL and C1."""

from __future__ import annotations

import json

import psycopg
import pytest

from opsconsole import cli

HOSTILE = "evil\x1b]52;c;ZXZpbA==\x07flag\x1b[2J\x9d pills \u202e"
FLAG = f"opsconsole_{HOSTILE}"


def controls(text: str) -> list[str]:
    """ESC, BEL, other C0 (but newline), C1 and bidi overrides found in output."""
    return sorted({repr(ch) for ch in text
                   if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F
                   or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"})


@pytest.fixture
def hostile_db(planted: tuple[str, dict[str, int]]) -> tuple[str, dict[str, int]]:
    dsn, reports = planted
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO public.feature_flags (name, enabled, description, updated_by)"
                     " VALUES (%s, false, %s, %s)", (FLAG, HOSTILE, HOSTILE))
        conn.execute("UPDATE public.reported_messages SET reviewed_by = %s,"
                     " reviewed_at = now() WHERE id = %s", (HOSTILE, reports["r3"]))
        conn.execute("UPDATE public.sms_outbound_jobs SET last_error = %s"
                     " WHERE idempotency_key LIKE 'opsconsole-test:a:%%'", (HOSTILE,))
    return dsn, reports


def test_no_cli_path_prints_database_text_raw(
        hostile_db: tuple[str, dict[str, int]], audit_file,
        capsys: pytest.CaptureFixture[str]) -> None:
    dsn, reports = hostile_db
    r1, r3 = str(reports["r1"]), str(reports["r3"])
    runs = {
        "set-flag, unknown name": ["action", "set-flag", "--name", "nope", "--on", "--dry-run"],
        "set-flag, hostile name": ["action", "set-flag", "--name", FLAG, "--on", "--dry-run"],
        "resolve-report, dismissed": ["action", "resolve-report", "--report-id", r3,
                                      "--dismiss", "--dry-run"],
        "resolve-report, hostile body": ["action", "resolve-report", "--report-id", r1,
                                         "--uphold", "--dry-run"],
        "replay-jobs, hostile error": ["action", "replay-jobs", "--last-error", HOSTILE,
                                       "--dry-run"],
        "check": ["check"],
        "doctor": ["doctor"],
    }
    printed = 0
    for name, argv in runs.items():
        for fmt in (("text", "json", "prometheus") if name == "check" else ("text", "json")):
            code = cli.main(["--dsn", dsn, *argv, "--format", fmt])
            out, err = capsys.readouterr()
            assert not controls(out + err), (name, fmt, controls(out + err), out + err)
            assert "Traceback" not in err
            if fmt == "json" and out.strip():
                json.loads(out.strip().splitlines()[-1] if argv[0] == "action" else out)
            printed += len(out) + len(err)
            assert code in (0, 1, 2, 3, 4), (name, code, err)
    assert printed > 0


def test_the_echoed_names_stay_readable(hostile_db: tuple[str, dict[str, int]],
                                        audit_file, capsys) -> None:
    """What the messages echo keeps its visible text, with a marker where a sequence was."""
    dsn, reports = hostile_db
    cli.main(["--dsn", dsn, "action", "resolve-report", "--report-id", str(reports["r3"]),
              "--dismiss", "--dry-run"])
    out, err = capsys.readouterr()
    text = out + err
    if "evil" in text:  # the refusal names the reviewer
        assert "evil\ufffdflag\ufffd pills \ufffd" in text
