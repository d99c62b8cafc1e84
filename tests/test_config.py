"""DSN resolution order, profiles, .env.local, unknown keys and password masking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsconsole.connection import config, dsn
from opsconsole.errors import BadInput

ENV_NAMES = ("OPSCONSOLE_DSN", "OPSCONSOLE_PROFILE", "OPSCONSOLE_CONFIG", "DATABASE_URL",
             "STAGING_DB_DSN", "STAGING_DB_URL", "XDG_CONFIG_HOME")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "xdg" / "opsconsole" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_order_cli_then_env_then_seed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_DB_URL", "host=url")
    assert config.resolve().source == "STAGING_DB_URL"
    monkeypatch.setenv("STAGING_DB_DSN", "host=dsn")
    assert config.resolve().source == "STAGING_DB_DSN"
    monkeypatch.setenv("DATABASE_URL", "host=dburl")
    assert config.resolve().dsn == "host=dburl"
    monkeypatch.setenv("OPSCONSOLE_DSN", "host=ops")
    assert config.resolve().source == "OPSCONSOLE_DSN"
    assert config.resolve("host=cli").source == "--dsn"


def test_libpq_defaults_when_nothing_is_set() -> None:
    resolved = config.resolve()
    assert resolved.dsn == "" and "libpq" in resolved.source


def test_env_local_is_read_with_quotes(clean_env: Path) -> None:
    (clean_env / ".env.local").write_text('STAGING_DB_DSN="postgresql://ops@db/app"\n')
    resolved = config.resolve()
    assert (resolved.dsn, resolved.source) == ("postgresql://ops@db/app", "STAGING_DB_DSN")


def test_profile_from_config_file(clean_env: Path) -> None:
    write_config(clean_env, """
[defaults]
refresh_s = 10

[profiles.prod]
dsn = "postgresql://ops:s3cret@db.internal:5432/app"
environment = "production"
writes = true
""")
    resolved = config.resolve(cli_profile="prod")
    assert resolved.profile.environment == "production" and resolved.profile.writes
    assert resolved.refresh_s == 10
    assert resolved.source == "profile prod"


def test_unknown_profile_lists_known_ones(clean_env: Path) -> None:
    write_config(clean_env, '[profiles.staging]\ndsn = "host=x"\n')
    with pytest.raises(BadInput, match=r"no profile 'prod' .* \(profiles: staging\)"):
        config.resolve(cli_profile="prod")


def test_unknown_key_is_named(clean_env: Path) -> None:
    write_config(clean_env, '[profiles.staging]\ndsn = "host=x"\nwrite = true\n')
    with pytest.raises(BadInput, match=r"unknown key 'profiles.staging.write'"):
        config.resolve(cli_profile="staging")


def test_bad_environment_value_is_named(clean_env: Path) -> None:
    write_config(clean_env, '[profiles.s]\ndsn = "host=x"\nenvironment = "prod"\n')
    with pytest.raises(BadInput, match=r"profiles.s.environment"):
        config.resolve(cli_profile="s")


def test_password_is_masked_everywhere() -> None:
    secret = "pa55-w0rd"
    uri = f"postgresql://ops:{secret}@db.internal:6432/app"
    assert secret not in dsn.mask(uri)
    assert dsn.target(uri).label() == "ops@db.internal:6432/app"
    assert secret not in dsn.mask_text(f"FATAL: password {secret} rejected", uri)


def test_malformed_dsn_is_one_line_without_the_password() -> None:
    with pytest.raises(BadInput) as info:
        dsn.parse("host=x password=hunter2 bogus")
    assert "hunter2" not in info.value.message
    assert "\n" not in info.value.message


def test_dsn_options_are_kept_by_connect(empty_dsn: str) -> None:
    from opsconsole.connection import db

    params = dict(dsn.parse(empty_dsn))
    params["options"] = "-c search_path=pg_catalog"
    with db.connect(psycopg_conninfo(params), read_only=False) as conn:
        row = conn.execute("SELECT current_setting('search_path') AS sp,"
                           " current_setting('application_name') AS app").fetchone()
    assert row == {"sp": "pg_catalog", "app": "opsconsole"}


def psycopg_conninfo(params: dict[str, str]) -> str:
    from psycopg import conninfo

    return conninfo.make_conninfo(**params)


# --- issue 11, item 4: the environment is never presumed, and writes = false is a guard ---

def test_a_dsn_without_a_profile_has_an_unknown_environment(monkeypatch) -> None:
    for resolved in (config.resolve("host=db.internal"), config.resolve()):
        assert resolved.profile.environment == "unknown" and not resolved.named_profile
    monkeypatch.setenv("DATABASE_URL", "postgresql://ops@prod-db.internal/app")
    assert config.resolve().profile.environment == "unknown"


def test_a_profile_that_does_not_say_is_unknown_too(clean_env: Path) -> None:
    write_config(clean_env, '[profiles.p]\ndsn = "host=x"\n')
    assert config.resolve(cli_profile="p").profile.environment == "unknown"


def test_allow_writes_never_overrides_a_profile(clean_env: Path) -> None:
    path = write_config(clean_env, '[profiles.ro]\ndsn = "host=x"\nwrites = false\n'
                        '[profiles.rw]\ndsn = "host=x"\nwrites = true\n'
                        '[profiles.quiet]\ndsn = "host=x"\n')
    for name in ("ro", "quiet"):
        for resolved in (config.resolve(cli_profile=name),
                         config.resolve("host=other", cli_profile=name)):
            assert resolved.named_profile
            assert resolved.writes_allowed(True) is False
            assert resolved.writes_allowed(False) is False
            reason = resolved.writes_refusal(True)
            assert "writes = false" in reason and "cannot override" in reason
            assert str(path) in reason and "\n" not in reason
    rw = config.resolve(cli_profile="rw")
    assert rw.writes_allowed(False) and rw.writes_allowed(True)
    bare = config.resolve("host=db")
    assert bare.writes_allowed(True) and not bare.writes_allowed(False)
    assert "--allow-writes" in bare.writes_refusal(False)


def test_the_action_cli_refuses_allow_writes_against_a_read_only_profile(
        fresh_seeded_dsn: str, clean_env: Path, monkeypatch, capsys) -> None:
    from opsconsole import cli
    from tests.test_actions_support import scalar

    monkeypatch.setenv("OPSCONSOLE_AUDIT_FILE", str(clean_env / "audit.jsonl"))
    write_config(clean_env, f'[profiles.ro]\ndsn = "{fresh_seeded_dsn}"\nwrites = false\n')
    before = scalar(fresh_seeded_dsn, "SELECT count(*) FROM opsconsole.audit_log")
    for argv in (["--profile", "ro", "action", "reset-quotas", "--yes", "--expect", "1",
                  "--allow-writes"],
                 ["action", "reset-quotas", "--yes", "--expect", "1", "--allow-writes",
                  "--profile", "ro"]):
        code = cli.main(argv)
        _, err = capsys.readouterr()
        assert code == 4, err
        assert "writes = false" in err and "cannot override" in err and err.count("\n") == 1
    assert scalar(fresh_seeded_dsn, "SELECT count(*) FROM opsconsole.audit_log") == before


# --- issue 11, item 15: a broken config file is one line naming it, never a traceback ---

@pytest.mark.parametrize(("content", "message"), [
    (b"profiles = 5\n", "profiles must be tables, [profiles.NAME]"),
    (b'[[profiles]]\ndsn = "host=x"\n', "profiles is an array of tables ([[profiles]])"),
    (b"[profiles.x]\ndsn = \xff\xfe\n", "not UTF-8 text (byte 0xff at offset"),
    (b"[profiles\n", "invalid TOML"),
    (b"profiles.x = 5\n", "profiles.x: Input should be a valid dictionary"),
    (b"defaults = []\n", "defaults: Input should be"),
])
def test_a_broken_config_is_one_line_naming_the_file(
        clean_env: Path, content: bytes, message: str, capsys) -> None:
    from opsconsole import cli

    path = write_config(clean_env, "")
    path.write_bytes(content)
    with pytest.raises(BadInput, match=re.escape(message)):
        config.resolve(cli_profile="x")
    for argv, code in ((["check", "--profile", "x"], 3), (["doctor", "--profile", "x"], 2),
                       (["--profile", "x", "action", "reset-quotas", "--dry-run"], 2)):
        assert cli.main(argv) == code
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and message in err, err


def test_a_config_path_that_is_a_folder(clean_env: Path, monkeypatch, capsys) -> None:
    from opsconsole import cli

    monkeypatch.setenv("OPSCONSOLE_CONFIG", str(clean_env))
    assert cli.main(["check"]) == 3
    err = capsys.readouterr().err
    assert f"{clean_env}: is a folder, not a config file" in err and err.count("\n") == 1


def test_an_invalid_environment_variable_is_named(monkeypatch, capsys) -> None:
    from opsconsole import cli

    monkeypatch.setenv("OPSCONSOLE_REFRESH_S", "soon")
    assert cli.main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert "OPSCONSOLE_REFRESH_S" in err and err.count("\n") == 1


# --- issue 11, item 10: every console session pins the settings that change text renderings ---

PINNED = {"TimeZone": "UTC", "DateStyle": "ISO, MDY", "IntervalStyle": "postgres",
          "bytea_output": "hex", "extra_float_digits": "1"}


def test_sessions_pin_text_renderings_over_database_and_dsn_settings(empty_dsn: str) -> None:
    import psycopg
    from psycopg import sql

    from opsconsole.connection import db

    name = dsn.parse(empty_dsn)["dbname"]
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        for setting, value in (("TimeZone", "Asia/Tokyo"), ("DateStyle", "German, DMY"),
                               ("IntervalStyle", "sql_standard"), ("bytea_output", "escape"),
                               ("extra_float_digits", "3")):
            conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                sql.Identifier(name), sql.Identifier(setting), sql.Literal(value)))
    params = dict(dsn.parse(empty_dsn))
    params["options"] = "-c search_path=pg_catalog -c TimeZone=America/New_York"
    for read_only in (True, False):
        with db.connect(psycopg_conninfo(params), read_only=read_only) as conn:
            shown = {k: conn.execute(sql.SQL("SELECT current_setting({}) AS v").format(
                sql.Literal(k))).fetchone()["v"] for k in [*PINNED, "search_path"]}
            row = conn.execute("SELECT '2026-01-02 03:04:05+00'::timestamptz::text AS ts,"
                               " '\\x01ff'::bytea::text AS b, interval '1 day 2 hours' AS i"
                               ).fetchone()
        assert shown == {**PINNED, "search_path": "pg_catalog"}  # the DSN's own option is kept
        assert row["ts"] == "2026-01-02 03:04:05+00" and row["b"] == "\\x01ff"


# --- issue 11, item 16: connect errors are told by their real cause ---

@pytest.mark.parametrize(("text", "reason"), [
    ('failed to resolve host \'timeout.example.org\': [Errno -2] Name or service not known',
     "unknown host"),
    ('connection failed: connection to server on socket "/tmp/timeouts/.s.PGSQL.5432" failed: '
     'FATAL:  role "timeout_ops" does not exist', "role does not exist"),
    ('connection failed: connection to server at "10.0.0.9", port 5432 failed: FATAL:  '
     'database "refused_timeout" does not exist', "database does not exist"),
    ('connection failed: connection to server at "db", port 5432 failed: FATAL:  password '
     'authentication failed for user "timeout"', "password authentication failed"),
    ("connection timeout expired", "timed out"),
    ('connection to server at "10.0.0.9", port 5432 failed: Connection timed out',
     "timed out"),
    ('connection failed: connection to server at "db", port 5432 failed: FATAL:  sorry, too '
     'many clients already: too many connections', "too many connections"),
    ('FATAL:  no pg_hba.conf entry for host "10.1.1.1", user "ops", database "app", no '
     'encryption', "no pg_hba.conf rule"),
    ("FATAL:  the database system is starting up", "server starting up or shutting down"),
])
def test_connect_errors_are_classified_by_their_real_cause(text: str, reason: str) -> None:
    from opsconsole.connection import db

    line = db.describe_error(Exception(text), dsn="host=db.internal user=ops dbname=app",
                             connecting=True)
    assert f"({reason}" in line and "\n" not in line, line
    if reason != "timed out":
        assert "timed out" not in line


def test_a_real_role_named_timeout_is_not_a_timeout(empty_dsn: str) -> None:
    from opsconsole.connection import db
    from opsconsole.errors import ConnectionFailed

    params = dict(dsn.parse(empty_dsn))
    params["user"] = "timeout_nobody"
    with pytest.raises(ConnectionFailed) as info:
        db.connect(psycopg_conninfo(params))
    assert "(role does not exist): fix the user in the DSN" in info.value.message
