"""opsconsole: a terminal operations console for a PostgreSQL messaging database."""

__version__ = "0.1.0"
