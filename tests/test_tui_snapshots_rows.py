"""Snapshots of the Audit screen with an undone entry (80x24 and 120x40): a replay of one job
group, then its undo; the original is marked undone by the undo's id, the cursor on the newest.

Deterministic: a fresh clone of the seeded template (audit ids from 1), the audit rows' times
and OS user set to fixed values after the fact (the trail's append-only trigger is switched
off for that one UPDATE on this throwaway database), the quiet settings and the frozen clock.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import ANCHOR
from tests.test_actions_support import make_ctx, run_action
from tests.test_tui_support import make_app, settle

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("OPSCONSOLE_TEST_DSN")),
    reason="snapshots show the embedded server's version; skipped on OPSCONSOLE_TEST_DSN",
)

GROUP = "Twilio 30003: Unreachable destination handset"


def undone_entry(dsn: str, tmp_path: Path) -> None:
    """Replay the jobs of GROUP, undo that, and pin the two audit rows' time and user."""
    ctx = make_ctx(dsn, tmp_path / "audit.jsonl")
    _, replayed = run_action(ctx, "replay-jobs", {"last_error": GROUP})
    assert replayed.affected and replayed.audit_ids
    _, undone = run_action(ctx, "undo", {"audit_id": replayed.audit_ids[0]})
    assert undone.affected == replayed.affected
    with psycopg.connect(dsn) as conn:
        conn.execute("ALTER TABLE opsconsole.audit_log DISABLE TRIGGER USER")
        conn.execute("UPDATE opsconsole.audit_log SET os_user = 'ops', client_host = 'bastion', "
                     "created_at = %s - (10 - id) * interval '3 minutes'",
                     (ANCHOR - timedelta(minutes=1),))
        conn.execute("ALTER TABLE opsconsole.audit_log ENABLE TRIGGER USER")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_audit_with_an_undone_entry(
    snap_compare: Any, fresh_seeded_dsn: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    undone_entry(fresh_seeded_dsn, tmp_path)
    app = make_app(fresh_seeded_dsn)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("9")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
