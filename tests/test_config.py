"""DSN resolution order, profiles, .env.local, unknown keys and password masking."""

from __future__ import annotations

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
