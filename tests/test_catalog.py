"""The shipped catalog loads, every reference resolves, and bad specs fail with file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsconsole import catalog
from opsconsole.errors import BadInput

# Check ids that scripts and alerts depend on (issue 3): they must exist and keep their names.
REQUIRED_CHECK_IDS = {
    "coordination.status_breakdown", "coordination.missing_intents", "coordination.jobs_missing",
    "coordination.duplicate_jobs", "coordination.constraints",
    "jobs.failed_last_hour", "jobs.oldest_pending_age", "jobs.stuck_running",
    "jobs.delivery_backlog",
    "deliveries.inconsistency_rate", "deliveries.trigger_success_rate",
    "deliveries.backfill_activity", "deliveries.triggers_enabled",
    "moderation.pending_reports", "moderation.quota_exhausted", "moderation.quota_reset_age",
    "moderation.rls_enabled",
    "conversations.v2_daily", "conversations.v2_success_rate", "conversations.v1_orphans",
    "schema.migrations", "schema.structure", "schema.security_definer",
    "connection.replica_lag",
}



def test_every_shipped_spec_loads_and_resolves() -> None:
    cat = catalog.load()
    ids = {c.id for _, c in cat.checks()}
    assert ids >= REQUIRED_CHECK_IDS
    screens = {s.id for s in cat.screens}
    assert {"coordination", "jobs", "deliveries", "moderation", "conversations", "schema",
            "flags", "audit"} <= screens
    for _, check in cat.checks():
        assert check.query in cat.queries
        assert check.runbook and check.source
    for table in cat.tables().values():
        assert "limit" in cat.query(table.query).parameters


def test_every_query_binds_parameters_not_formatting() -> None:
    cat = catalog.load()
    for ref, query in cat.queries.items():
        assert not re.search(r"\{[a-z_]+\}", query.sql), f"{ref} looks like a format string"
        for name in query.parameters:
            assert f"%({name})s" in query.sql, ref


def test_unknown_key_names_file_and_key(copy_root: Path) -> None:
    path = copy_root / "screens" / "jobs.toml"
    path.write_text(path.read_text().replace('title = "Jobs"', 'title = "Jobs"\ncolour = "red"'))
    with pytest.raises(BadInput, match=r"jobs\.toml: colour: Extra inputs are not permitted"):
        catalog.load(copy_root)


def test_missing_query_names_file_and_check(copy_root: Path) -> None:
    path = copy_root / "screens" / "jobs.toml"
    path.write_text(path.read_text().replace('query = "jobs.stuck_running"',
                                             'query = "jobs.stuck_runing"'))
    with pytest.raises(BadInput, match=r"jobs\.toml: check jobs\.stuck_running: query "
                                       r"jobs\.stuck_runing not found in queries/jobs\.sql"):
        catalog.load(copy_root)


def test_query_parameter_without_value_is_rejected(copy_root: Path) -> None:
    path = copy_root / "screens" / "jobs.toml"
    path.write_text(path.read_text().replace("params = { timeout_s = 900 }\n", ""))
    with pytest.raises(BadInput, match=r"needs parameters \['timeout_s'\]"):
        catalog.load(copy_root)


def test_duplicate_check_id_is_rejected(copy_root: Path) -> None:
    path = copy_root / "screens" / "flags.toml"
    path.write_text(path.read_text() + """
[[checks]]
id = "jobs.stuck_running"
title = "x"
query = "jobs.failed_last_hour"
value = "failed"
summary = "x"
runbook = "x"
source = "x"
""")
    with pytest.raises(BadInput, match="already defined"):
        catalog.load(copy_root)


def test_catalog_dir_without_screens_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "queries").mkdir()
    with pytest.raises(BadInput, match="has no screens/ folder"):
        catalog.load(tmp_path)


def test_bad_requires_item_is_rejected(copy_root: Path) -> None:
    path = copy_root / "screens" / "jobs.toml"
    path.write_text(path.read_text().replace('id = "jobs.stuck_running"',
                                             'id = "jobs.stuck_running"\n'
                                             'requires = ["sms_outbound_jobs"]'))
    with pytest.raises(BadInput, match=r"jobs\.toml: checks\.2\.requires\.0: .*is not "
                                       r"schema\.relation"):
        catalog.load(copy_root)


def test_a_folder_named_like_a_spec_is_one_line_naming_it(copy_root: Path) -> None:
    (copy_root / "screens" / "extra.toml").mkdir()
    with pytest.raises(BadInput, match=r"screens/extra\.toml: is not a file"):
        catalog.load(copy_root)
    (copy_root / "screens" / "extra.toml").rmdir()
    (copy_root / "queries" / "more.sql").mkdir()
    with pytest.raises(BadInput, match=r"queries/more\.sql: is not a file"):
        catalog.load(copy_root)


def test_a_file_that_is_not_utf8_is_one_line_naming_file_and_line(copy_root: Path) -> None:
    path = copy_root / "queries" / "jobs.sql"
    path.write_bytes(path.read_bytes().replace(b"the job queues", b"the job qu\xe9ues"))
    with pytest.raises(BadInput, match=r"queries/jobs\.sql:1: not UTF-8 text \(byte 0xe9\): "
                                       r"save the file as UTF-8"):
        catalog.load(copy_root)


def test_a_missing_query_file_a_spec_needs_is_named(copy_root: Path) -> None:
    (copy_root / "queries" / "moderation.sql").unlink()
    with pytest.raises(BadInput, match=r"moderation\.toml: check moderation\.pending_reports: "
                                       r"query moderation\.pending_reports: "
                                       r"queries/moderation\.sql does not exist"):
        catalog.load(copy_root)


def test_subsystems_are_declared_once_and_every_check_has_one(copy_root: Path) -> None:
    cat = catalog.load(copy_root)
    assert {"coordination", "jobs", "communication", "linkage", "conversations", "moderation",
            "server"} <= set(cat.subsystems)
    for screen, check in cat.checks():
        assert (check.subsystem or screen.subsystem) in cat.subsystems, check.id
    assert cat.subsystem_of("check", "schema.migrations") == "communication"
    assert cat.subsystem_of("check", "schema.security_definer") == "server"
    assert cat.subsystem_of("check", "jobs.delivery_backlog") == "communication"
    jobs = copy_root / "screens" / "jobs.toml"
    jobs.write_text(jobs.read_text().replace('subsystem = "communication"',
                                             'subsystem = "comms"'))
    with pytest.raises(BadInput, match=r"jobs\.toml: check jobs\.delivery_backlog: subsystem "
                                       r"comms is not declared in screens/subsystems\.toml"):
        catalog.load(copy_root)
    (copy_root / "screens" / "subsystems.toml").unlink()
    with pytest.raises(BadInput, match=r"is not declared in screens/subsystems\.toml \(known: "
                                       r"none: screens/subsystems\.toml is missing\)"):
        catalog.load(copy_root)


def test_a_screen_requires_is_replaced_by_its_subsystem(copy_root: Path) -> None:
    path = copy_root / "screens" / "jobs.toml"
    path.write_text('requires = ["public.sms_outbound_jobs"]\n' + path.read_text())
    with pytest.raises(BadInput, match=r"jobs\.toml: requires: a screen names its subsystem"):
        catalog.load(copy_root)


def test_a_drill_down_parameter_the_target_does_not_take_is_named(copy_root: Path) -> None:
    path = copy_root / "screens" / "jobs.toml"
    path.write_text(path.read_text().replace("params = { last_error = \"id\" } }",
                                             "params = { error = \"id\" } }", 1))
    with pytest.raises(BadInput, match=r"table jobs\.failed_by_error: drill\.params error: "
                                       r"query jobs\.failed_jobs takes no such parameter"):
        catalog.load(copy_root)


def test_the_catalog_fingerprint_changes_with_any_file(copy_root: Path) -> None:
    first = catalog.load(copy_root).fingerprint
    assert first == catalog.load(copy_root).fingerprint
    path = copy_root / "queries" / "jobs.sql"
    path.write_text(path.read_text() + "\n")
    assert catalog.load(copy_root).fingerprint != first


def test_export_writes_the_shipped_catalog_and_refuses_to_overwrite(tmp_path: Path) -> None:
    from opsconsole.cli import catalog_export

    dest = tmp_path / "mine"
    assert "wrote" in catalog_export.export(dest)
    assert catalog.load(dest).fingerprint == catalog.load().fingerprint
    with pytest.raises(BadInput, match=r"is not empty: give an empty folder, or --force"):
        catalog_export.export(dest)
    (dest / "queries" / "jobs.sql").write_text("-- mine\n")
    catalog_export.export(dest, force=True)
    assert catalog.load(dest).fingerprint == catalog.load().fingerprint
