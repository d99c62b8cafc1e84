"""The command-line face: ``opsconsole [tui|demo|check|doctor|action|db|catalog] ...``.

Importing this package stays cheap (``opsconsole --version``): commands import what they need.
"""

from opsconsole.cli.main import main

__all__ = ["main"]
