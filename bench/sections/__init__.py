"""The benchmark's sections, one module each: how its figures are measured (``run``), its
options (``OPTIONS``, with the ``--quick`` values), and how they are reported against their
targets (``figures`` for the headline table, ``details`` for its part of RESULTS.md).

``MEASURE_ORDER`` is the order a full run measures them in; ``REPORT_ORDER`` the order
RESULTS.md shows them in.
"""

from sections import anchors, backfill, demo, refresh, runbooks, scale, startup, tui

MODULES = {m.NAME: m for m in (refresh, runbooks, startup, demo, tui, anchors, backfill, scale)}
MEASURE_ORDER = ("refresh", "runbooks", "startup", "demo", "tui", "anchors", "backfill", "scale")
REPORT_ORDER = ("refresh", "runbooks", "startup", "demo", "backfill", "tui", "anchors", "scale")
