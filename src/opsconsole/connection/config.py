"""Settings and connection profiles.

The catalog (``queries/`` and ``screens/``) is ``--catalog DIR``, else ``OPSCONSOLE_CATALOG``,
else the shipped one (:func:`catalog_folder`).

A DSN comes from, in order: ``--dsn``; ``--profile NAME`` from the config file
(``$XDG_CONFIG_HOME/opsconsole/config.toml``); ``OPSCONSOLE_DSN``; ``DATABASE_URL``;
``STAGING_DB_DSN`` or ``STAGING_DB_URL`` (seed 000's names), each also read from ``.env.local``
in the working directory; then libpq's own defaults (``PGHOST``, ``PGSERVICE``, ``~/.pgpass``),
which psycopg honours when the DSN is empty.

``--dsn -`` reads the DSN from stdin and ``--dsn-file PATH`` from a file, so a password never
shows in ``ps`` (:func:`read_dsn_option`). With no profile speaking, the environment is
``unknown`` (never presumed ``dev``), and writes follow ``--allow-writes``; a named profile
decides both, and its ``writes = false`` cannot be overridden (:meth:`Resolved.writes_allowed`).

The config file::

    [defaults]
    refresh_s = 5
    statement_timeout_ms = 5000

    [profiles.staging]
    dsn = "postgresql://ops@db.internal:5432/app"
    environment = "staging"      # production | staging | dev (unset: unknown)
    writes = false               # a guard: --allow-writes cannot override it
    replica_dsn = "postgresql://ops@replica.internal:5432/app"   # optional, for monitoring
"""

from __future__ import annotations

import getpass
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from opsconsole.errors import BadInput

Environment = Literal["production", "staging", "dev", "unknown"]
UNKNOWN_ENVIRONMENT: Environment = "unknown"


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
        environment: production | staging | dev | unknown (the default: a profile that does not
            say is never presumed dev); production shows a red banner and asks for the
            environment's name on every confirmation.
        writes: whether guarded actions may write; False is a guard that ``--allow-writes``
            cannot override.
        replica_dsn: optional read replica for the monitoring session.
        refresh_s: auto-refresh interval in seconds.
        statement_timeout_ms: per-query limit of the monitoring session, in ms.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    dsn: str = ""
    environment: Environment = UNKNOWN_ENVIRONMENT
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
    """Settings from the environment (``OPSCONSOLE_*``) and ``.env.local``.

    ``catalog`` (``OPSCONSOLE_CATALOG``) is the default of ``--catalog``
    (:func:`catalog_folder`); ``config`` is read by :func:`config_path`.
    """

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
        named_profile: True when a profile from the config file speaks (``--profile`` or
            ``OPSCONSOLE_PROFILE``); False for a bare ``--dsn``, an environment DSN or libpq's
            defaults, whose profile is a stand-in with environment ``unknown``.
        config_file: the config file that was read (Path), for messages.
    """

    dsn: str
    source: str
    profile: Profile
    defaults: Defaults
    named_profile: bool = False
    config_file: Path | None = None

    def writes_allowed(self, allow_writes_flag: bool) -> bool:
        """Whether guarded actions may write (bool).

        A named profile decides alone: its ``writes`` (default false) is a guard that the flag
        cannot override. Where no profile speaks, ``--allow-writes`` switches writes on.

        Args:
            allow_writes_flag: the CLI's ``--allow-writes``.
        """
        return self.profile.writes if self.named_profile else allow_writes_flag

    def writes_refusal(self, allow_writes_flag: bool) -> str:
        """One line saying why writes are off and how to switch them on honestly (str).

        Meant for the refusal message when :meth:`writes_allowed` is False.
        """
        if self.named_profile:
            where = self.config_file or "the config file"
            tail = " (--allow-writes cannot override a profile)" if allow_writes_flag else ""
            return f"the profile says writes = false{tail}: set writes = true in {where}"
        return "no profile speaks for this DSN: pass --allow-writes, or use a profile with " \
            "writes = true"

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
    env = env or _env_settings()
    if env.config:
        return Path(env.config).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "opsconsole" / "config.toml"


def load_config(path: Path) -> ConfigFile:
    """Read and validate the config file (a missing file is an empty config).

    Raises:
        BadInput: unreadable, not UTF-8, invalid TOML, a wrong shape or an unknown key (the
            message names the file and the key).
    """
    data = _read_toml(path)
    if data is None:
        return ConfigFile()
    profiles = data.get("profiles")
    if isinstance(profiles, list):
        raise BadInput(
            f"{path}: profiles is an array of tables ([[profiles]]): write one table per "
            "profile, [profiles.NAME]"
        )
    if profiles is not None and not isinstance(profiles, dict):
        raise BadInput(f"{path}: profiles must be tables, [profiles.NAME] (got {profiles!r:.40})")
    for name, body in (profiles or {}).items():
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


def _read_toml(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when there is none (dict)."""
    try:
        if not path.exists():
            return None
        raw = path.read_bytes()
    except IsADirectoryError:
        raise BadInput(f"{path}: is a folder, not a config file: point OPSCONSOLE_CONFIG at a "
                       "TOML file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the config file ({exc.strerror}): check its "
                       "permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset "
                       f"{exc.start}): save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: invalid TOML ({exc})") from None


def read_dsn_option(
    dsn: str | None, dsn_file: str | Path | None = None, stdin: TextIO | None = None
) -> str | None:
    """The DSN given on the command line: ``--dsn DSN``, ``--dsn -`` (stdin), ``--dsn-file``.

    ``--dsn -`` and ``--dsn-file`` keep a password out of ``ps``; on a terminal ``--dsn -``
    asks for it without echo.

    Args:
        dsn: the ``--dsn`` value (None when not given).
        dsn_file: the ``--dsn-file`` path (None when not given).
        stdin: where ``--dsn -`` reads (default ``sys.stdin``).

    Returns:
        The DSN (str, stripped), or None when neither option was given.

    Raises:
        BadInput: both given, an empty DSN, an unreadable file, or more than one line.
    """
    if dsn is not None and dsn_file is not None:
        raise BadInput("give the DSN once: --dsn or --dsn-file, not both")
    if dsn_file is not None:
        return _one_line(_read_dsn_file(Path(dsn_file)), f"--dsn-file {dsn_file}")
    if dsn is None:
        return None
    if dsn == "-":
        return _one_line(_read_stdin(stdin or sys.stdin), "--dsn - (stdin)")
    return _one_line(dsn, "--dsn")


def _read_dsn_file(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"--dsn-file {path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"--dsn-file {path}: is a folder: give the file holding the DSN") from None
    except UnicodeDecodeError:
        raise BadInput(f"--dsn-file {path}: not UTF-8 text") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"--dsn-file {path}: cannot read it ({getattr(exc, 'strerror', exc)})") \
            from None


def _read_stdin(stream: TextIO) -> str:
    try:
        if stream.isatty():
            return getpass.getpass("DSN (not echoed): ")
        return stream.read()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise BadInput(f"--dsn -: cannot read the DSN from stdin ({exc})") from None


def _one_line(text: str, what: str) -> str:
    value = text.strip()
    if not value:
        raise BadInput(f"{what} is empty: give a DSN, or leave the option out to use the "
                       "profile, OPSCONSOLE_DSN or libpq's defaults")
    if "\n" in value or "\r" in value:
        raise BadInput(f"{what} holds more than one line: give the DSN alone")
    return value


def resolve(
    cli_dsn: str | None = None,
    cli_profile: str | None = None,
    *,
    dsn_file: str | Path | None = None,
    stdin: TextIO | None = None,
) -> Resolved:
    """Pick the DSN and profile by the documented order.

    Args:
        cli_dsn: ``--dsn`` ("-" reads stdin, see :func:`read_dsn_option`).
        cli_profile: ``--profile``.
        dsn_file: ``--dsn-file``.
        stdin: where ``--dsn -`` reads (default ``sys.stdin``).

    Raises:
        BadInput: the named profile does not exist, the config file or an ``OPSCONSOLE_*``
            variable is invalid, or the DSN option is empty or unreadable.
    """
    given = read_dsn_option(cli_dsn, dsn_file, stdin)
    if cli_profile is not None and not cli_profile.strip():
        raise BadInput("--profile is empty: give a profile name from the config file")
    env = _env_settings()
    path = config_path(env)
    cfg = load_config(path)
    profile_name = cli_profile or (None if given else env.profile)
    if profile_name:
        if profile_name not in cfg.profiles:
            known = ", ".join(sorted(cfg.profiles)) or "none"
            raise BadInput(f"no profile '{profile_name}' in {path} (profiles: {known}): add "
                           f"[profiles.{profile_name}] there or pick one of those")
        profile = cfg.profiles[profile_name]
        source = "--dsn" if given else f"profile {profile_name}"
        return Resolved(given or profile.dsn, source, profile, cfg.defaults, True, path)
    for value, source in (
        (given, "--dsn"),
        (env.dsn, "OPSCONSOLE_DSN"),
        (env.database_url, "DATABASE_URL"),
        (env.staging_db_dsn, "STAGING_DB_DSN"),
        (env.staging_db_url, "STAGING_DB_URL"),
    ):
        if value:
            dsn = value.strip().strip('"')
            return Resolved(dsn, source, _env_profile(env), cfg.defaults, False, path)
    return Resolved(
        "", "libpq defaults (PGHOST, PGSERVICE, ~/.pgpass)", _env_profile(env), cfg.defaults,
        False, path,
    )


CATALOG_VARIABLE = "OPSCONSOLE_CATALOG"


def catalog_folder(option: str | Path | None) -> tuple[Path | None, str | None]:
    """The catalog folder to load: ``--catalog DIR``, else ``OPSCONSOLE_CATALOG``, else None (the
    shipped catalog).

    Args:
        option: the ``--catalog`` value (None when not given).

    Returns:
        (folder or None, the variable's name when the folder came from the environment, else
        None), so a message about a bad folder can name where it was set.

    Raises:
        BadInput: an ``OPSCONSOLE_*`` variable or ``.env.local`` is invalid.
    """
    if option is not None:
        return Path(option), None
    value = (_env_settings().catalog or "").strip()
    return (Path(value).expanduser(), CATALOG_VARIABLE) if value else (None, None)


def _env_settings() -> EnvSettings:
    """``OPSCONSOLE_*`` and ``.env.local``; an invalid value is one line naming the variable."""
    try:
        return EnvSettings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "OPSCONSOLE_" + ".".join(str(p) for p in err["loc"]).upper()
        raise BadInput(f"{name}: {err['msg']}: fix or unset it (environment or .env.local)") \
            from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f".env.local: cannot be read ({exc}): fix or remove it") from None


def _env_profile(env: EnvSettings) -> Profile:
    """The stand-in profile where none speaks: environment unknown, writes by the flag."""
    return Profile(
        name="default", environment=UNKNOWN_ENVIRONMENT, refresh_s=env.refresh_s,
        statement_timeout_ms=env.statement_timeout_ms,
    )
