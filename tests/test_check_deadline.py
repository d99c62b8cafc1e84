"""``check --timeout S`` bounds the whole run on the client side (issue 11, item 9): a server
that stalls after the connection is made (a hung backend, a black-holed network) ends the run
with exit 3 and one line within S + 1 seconds, instead of waiting on the socket forever.

The stall is real: a small TCP proxy (a thread) forwards the startup and authentication to the
test server, then holds the client's first query and everything after it.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from opsconsole import cli
from opsconsole.connection.dsn import parse

CANCEL_OR_SSL = {80877102, 80877103, 80877104}  # CancelRequest, SSLRequest, GSSENCRequest


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class StallingProxy:
    """127.0.0.1:PORT in front of the server of ``dsn``.

    Args:
        dsn: the real database.
        stall_at: "query" forwards the startup and authentication, then swallows the client's
            first query (Q or P) and all that follows; "startup" forwards nothing at all.
    """

    def __init__(self, dsn: str, stall_at: str = "query") -> None:
        self.params = parse(dsn)
        self.stall_at = stall_at
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        self.stalled = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def dsn(self) -> str:
        parts = {"host": "127.0.0.1", "port": str(self.port), "sslmode": "disable",
                 "gssencmode": "disable"}
        for key in ("dbname", "user", "password"):
            if key in self.params:
                parts[key] = self.params[key]
        return " ".join(f"{k}='{v}'" for k, v in parts.items())

    def _upstream(self) -> socket.socket:
        host = self.params.get("host", "/tmp")
        port = int(self.params.get("port") or 5432)
        if host.startswith("/"):
            up = socket.socket(socket.AF_UNIX)
            up.connect(f"{host}/.s.PGSQL.{port}")
            return up
        return socket.create_connection((host, port))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            if self.stall_at == "startup":
                self.stalled.set()
                while client.recv(65536):
                    pass
                return
            up = self._upstream()
            self.sockets.append(up)
            threading.Thread(target=self._pump, args=(up, client), daemon=True).start()
            head = _recv_exact(client, 8)
            length, code = struct.unpack("!ii", head)
            up.sendall(head + _recv_exact(client, length - 8))
            if code in CANCEL_OR_SSL:
                return
            while True:
                kind = _recv_exact(client, 1)
                length = struct.unpack("!i", _recv_exact(client, 4))[0]
                body = _recv_exact(client, length - 4)
                if kind in (b"Q", b"P"):
                    self.stalled.set()
                    while client.recv(65536):  # hold the query: never forward, never close
                        pass
                    return
                up.sendall(kind + struct.pack("!i", length) + body)
        except OSError:
            return

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        for sock in self.sockets:
            with suppress(OSError):
                sock.close()


@contextmanager
def stalling(dsn: str, stall_at: str = "query") -> Iterator[StallingProxy]:
    proxy = StallingProxy(dsn, stall_at)
    try:
        yield proxy
    finally:
        proxy.close()


def timed(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, float, str, str]:
    started = time.monotonic()
    code = cli.main(list(argv))
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    return code, elapsed, out, err


def test_a_server_stalling_after_the_connection_ends_the_run_within_the_timeout(
        seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    with stalling(seeded_dsn) as proxy:
        code, elapsed, out, err = timed(capsys, "check", "--dsn", proxy.dsn, "--timeout", "2")
        assert proxy.stalled.is_set()  # the run reached the server and then hung on it
    assert code == 3 and elapsed <= 3.0, (code, elapsed, err)
    assert out == "" and err.count("\n") == 1
    assert "stopped answering within 2 s (--timeout)" in err


def test_the_deadline_gives_json_and_covers_the_connect(
        seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    with stalling(seeded_dsn, stall_at="startup") as proxy:
        code, elapsed, out, err = timed(capsys, "check", "--dsn", proxy.dsn, "--timeout", "1",
                                        "--format", "json")
    assert code == 3 and elapsed <= 2.0, (code, elapsed, err)
    doc = json.loads(out)
    assert (doc["status"], doc["exit_code"]) == ("UNKNOWN", 3)
    assert "did not accept a connection within 1 s" in doc["error"]
    assert err.count("\n") == 1


def test_a_healthy_server_finishes_well_within_a_short_timeout(
        seeded_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, elapsed, out, _ = timed(capsys, "check", "--dsn", seeded_dsn, "--timeout", "10",
                                  "--only", "schema.migrations")
    assert code == 0 and "OK       schema.migrations" in out and elapsed < 10
