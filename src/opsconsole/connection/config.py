"""Settings and connection profiles.

A DSN comes from, in order: ``--dsn``; ``--profile NAME`` from the config file
(``$XDG_CONFIG_HOME/opsconsole/config.toml``); ``OPSCONSOLE_DSN``; ``DATABASE_URL``;
``STAGING_DB_DSN`` or ``STAGING_DB_URL`` (seed 000's names), each also read from ``.env.local``
in the working directory; then libpq's own defaults (``PGHOST``, ``PGSERVICE``, ``~/.pgpass``),
which psycopg honours when the DSN is empty.

The config file::

    [defaults]
    refresh_s = 5
    statement_timeout_ms = 5000

    [profiles.staging]
    dsn = "postgresql://ops@db.internal:5432/app"
    environment = "staging"      # production | staging | dev
    writes = false
    replica_dsn = "postgresql://ops@replica.internal:5432/app"   # optional, for monitoring
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from opsconsole.errors import BadInput

Environment = Literal["production", "staging", "dev"]


class Defaults(BaseModel):
    """Settings shared by every profile (all optional in the file)."""

    model_config = ConfigDict(extra="forbid")

    refresh_s: float = Field(default=5.0, ge=0.5, le=3600)
    statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    write_mode_minutes: int = Field(default=15, ge=1, le=240)
    audit_file: str | None = None


class Profile(BaseModel):
    """A named connection profile.

    Attributes:
        name: the profile's name (the TOML table name).
        dsn: libpq DSN or URI ("" = libpq defaults).
        environment: production | staging | dev; production shows a red banner and asks for
            the environment's name on every confirmation.
        writes: whether guarded actions may write.
        replica_dsn: optional read replica for the monitoring session.
        refresh_s: auto-refresh interval in seconds.
        statement_timeout_ms: per-query limit of the monitoring session, in ms.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    dsn: str = ""
    environment: Environment = "dev"
    writes: bool = False
    replica_dsn: str | None = None
    refresh_s: float | None = Field(default=None, ge=0.5, le=3600)
    statement_timeout_ms: int | None = Field(default=None, ge=100, le=600_000)


class ConfigFile(BaseModel):
    """The whole config file."""

    model_config = ConfigDict(extra="forbid")

    defaults: Defaults = Defaults()
    profiles: dict[str, Profile] = {}


class EnvSettings(BaseSettings):
    """Settings from the environment (``OPSCONSOLE_*``) and ``.env.local``."""

    model_config = SettingsConfigDict(
        env_prefix="OPSCONSOLE_", env_file=".env.local", extra="ignore", populate_by_name=True
    )

    dsn: str | None = None
    profile: str | None = None
    config: str | None = None
    catalog: str | None = None
    refresh_s: float | None = None
    statement_timeout_ms: int | None = None
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    staging_db_dsn: str | None = Field(
        default=None, validation_alias=AliasChoices("STAGING_DB_DSN")
    )
    staging_db_url: str | None = Field(
        default=None, validation_alias=AliasChoices("STAGING_DB_URL")
    )


@dataclass(frozen=True)
class Resolved:
    """The connection the console will use.

    Attributes:
        dsn: the DSN (may hold a password: never print it; use
            :func:`opsconsole.connection.dsn.mask`).
        source: where it came from, e.g. "--dsn", "profile staging", "DATABASE_URL".
        profile: the effective profile (name, environment, writes, ...).
        defaults: the config file's defaults.
    """

    dsn: str
    source: str
    profile: Profile
    defaults: Defaults

    @property
    def refresh_s(self) -> float:
        """Auto-refresh interval in seconds."""
        return self.profile.refresh_s or self.defaults.refresh_s

    @property
    def statement_timeout_ms(self) -> int:
        """Monitoring statement timeout in ms."""
        return self.profile.statement_timeout_ms or self.defaults.statement_timeout_ms


def config_path(env: EnvSettings | None = None) -> Path:
    """The config file: ``OPSCONSOLE_CONFIG`` or ``$XDG_CONFIG_HOME/opsconsole/config.toml``."""
    env = env or EnvSettings()
    if env.config:
        return Path(env.config).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "opsconsole" / "config.toml"


def load_config(path: Path) -> ConfigFile:
    """Read and validate the config file (a missing file is an empty config).

    Raises:
        BadInput: invalid TOML or an unknown key (the message names the file and the key).
    """
    if not path.exists():
        return ConfigFile()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: invalid TOML ({exc})") from exc
    for name, body in (data.get("profiles") or {}).items():
        if isinstance(body, dict):
            body.setdefault("name", name)
    try:
        return ConfigFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise BadInput(f"{path}: unknown key '{where}': remove it or fix its spelling") from exc
        raise BadInput(f"{path}: {where}: {err['msg']}") from exc


def resolve(cli_dsn: str | None = None, cli_profile: str | None = None) -> Resolved:
    """Pick the DSN and profile by the documented order.

    Raises:
        BadInput: the named profile does not exist, or the config file is invalid.
    """
    env = EnvSettings()
    path = config_path(env)
    cfg = load_config(path)
    profile_name = cli_profile or (None if cli_dsn else env.profile)
    if profile_name:
        if profile_name not in cfg.profiles:
            known = ", ".join(sorted(cfg.profiles)) or "none"
            raise BadInput(f"no profile '{profile_name}' in {path} (profiles: {known})")
        profile = cfg.profiles[profile_name]
        dsn = cli_dsn or profile.dsn
        return Resolved(
            dsn, "--dsn" if cli_dsn else f"profile {profile_name}", profile, cfg.defaults
        )
    for value, source in (
        (cli_dsn, "--dsn"),
        (env.dsn, "OPSCONSOLE_DSN"),
        (env.database_url, "DATABASE_URL"),
        (env.staging_db_dsn, "STAGING_DB_DSN"),
        (env.staging_db_url, "STAGING_DB_URL"),
    ):
        if value:
            return Resolved(value.strip().strip('"'), source, _env_profile(env), cfg.defaults)
    return Resolved(
        "", "libpq defaults (PGHOST, PGSERVICE, ~/.pgpass)", _env_profile(env), cfg.defaults
    )


def _env_profile(env: EnvSettings) -> Profile:
    return Profile(
        name="default", refresh_s=env.refresh_s, statement_timeout_ms=env.statement_timeout_ms
    )
