"""Run a program in a pseudo-terminal and watch what it writes (no pexpect).

The child gets the pty as its controlling terminal, stdin, stdout and stderr, a window size set
with TIOCSWINSZ and ``TERM=xterm-256color``. A reader thread drains the master side without pause
(a full pty buffer would stall the child), keeps a timestamped log of every read, and keeps the
text with escape sequences removed, so "is this on screen yet?" is a regex search.

Like a terminal, it answers a cursor-position request (``CSI 6n``) with a cursor-position report
(always row 1, column 1: no screen is emulated). Some terminal libraries probe the terminal at
start-up and take the report as the end of the answers (blessed, under pg_activity, waits 5 s per
probe without it); Textual sends no such request, so the console's figures do not depend on it.
Nothing else is answered, as by a terminal without XTGETTCAP or XTVERSION.

``idle_output`` is the idle-output method of the benchmark (the same for every program): every
byte written during a window, per run and per 1-s bin.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from typing import Any

CPR_REQUEST = b"\x1b[6n"
CPR_REPORT = b"\x1b[1;1R"

# CSI (incl. private modes), OSC (BEL or ST terminated), DCS/APC/PM/SOS strings, charset
# designations and two-byte escapes.
_ESC = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[P_^X][^\x1b]*\x1b\\"
    r"|\x1b[()*+][0-9A-Za-z]"
    r"|\x1b[@-Z\\-_=>78]"
)


def strip_escapes(text: str) -> str:
    """Text without terminal escape sequences (str)."""
    return _ESC.sub("", text)


class PtyProcess:
    """A child process on a fresh pty.

    Args:
        argv: the command.
        cols, rows: the window size.
        env: extra environment variables.
        answer_cpr: answer cursor-position requests as a terminal does.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cols: int = 80,
        rows: int = 24,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        answer_cpr: bool = True,
    ) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols),
                    "LINES": str(rows), **(env or {})}
        full_env.pop("NO_COLOR", None)

        def child_setup() -> None:  # runs in the child between fork and exec
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.log: list[tuple[float, int]] = []  # (perf_counter, bytes) per read
        self.total = 0
        self._text: list[str] = []
        self._tail = ""  # stripped text, last 64 KB
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # undecoded escape prefix kept for the next read
        self._cond = threading.Condition()
        self._closed = False
        self.answer_cpr = answer_cpr
        self.cpr_answered = 0
        self._raw_tail = b""  # the last bytes, for a request split over two reads
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd=cwd,
            close_fds=True,
            preexec_fn=child_setup,  # noqa: PLW1509 - setsid + controlling tty
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def _read_loop(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
            except (OSError, ValueError):
                break
            if not ready:
                if self.proc.poll() is not None and not self._drain_once():
                    break
                continue
            if not self._drain_once():
                break
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _drain_once(self) -> bool:
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        now = time.perf_counter()
        if self.answer_cpr:
            window = self._raw_tail + data  # the tail is too short to hold a whole request
            for _ in range(window.count(CPR_REQUEST)):
                with contextlib.suppress(OSError):
                    os.write(self.master, CPR_REPORT)
                self.cpr_answered += 1
            self._raw_tail = window[-(len(CPR_REQUEST) - 1):]
        text = self._pending + self._decoder.decode(data)
        # keep an unfinished escape sequence at the end for the next read
        cut = text.rfind("\x1b")
        if cut != -1 and len(text) - cut < 64 and not _ESC.match(text, cut):
            text, self._pending = text[:cut], text[cut:]
        else:
            self._pending = ""
        with self._cond:
            self.log.append((now, len(data)))
            self.total += len(data)
            self._tail = (self._tail + strip_escapes(text))[-65536:]
            self._cond.notify_all()
        return True

    def wait_for(self, pattern: re.Pattern[str], timeout_s: float) -> float | None:
        """Wait until the stripped output matches ``pattern``.

        Returns:
            seconds from the spawn to the read that completed the match, or None on timeout /
            exit.
        """
        deadline = time.perf_counter() + timeout_s
        with self._cond:
            while True:
                if pattern.search(self._tail):
                    return self.log[-1][0] - self.started
                left = deadline - time.perf_counter()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(min(left, 0.2))

    def clear_text(self) -> None:
        """Forget the stripped text seen so far (to wait for something new)."""
        with self._cond:
            self._tail = ""

    def text(self) -> str:
        """The stripped output seen so far (last 64 KB)."""
        with self._cond:
            return self._tail

    def send(self, data: bytes) -> None:
        """Type ``data`` into the terminal."""
        os.write(self.master, data)

    def bytes_between(self, t0: float, t1: float) -> list[tuple[float, int]]:
        """The reads whose timestamps fall in [t0, t1) (perf_counter times)."""
        with self._cond:
            return [(t, n) for t, n in self.log if t0 <= t < t1]

    def idle_output(self, seconds: float) -> dict[str, Any]:
        """Wait ``seconds`` and count every byte the child writes meanwhile.

        Returns:
            ``idle_window_s``, ``idle_bytes``, ``idle_bytes_per_s`` and
            ``idle_per_second_bins`` (bytes in each whole second of the window).
        """
        w0 = time.perf_counter()
        time.sleep(seconds)
        w1 = time.perf_counter()
        reads = self.bytes_between(w0, w1)
        total = sum(n for _, n in reads)
        bins = [0] * int(seconds)
        for t, n in reads:
            k = int(t - w0)
            if 0 <= k < len(bins):
                bins[k] += n
        return {"idle_window_s": w1 - w0, "idle_bytes": total,
                "idle_bytes_per_s": total / (w1 - w0), "idle_per_second_bins": bins}

    def status(self) -> dict[str, int]:
        """VmHWM and VmRSS of the child, in kB (from /proc/PID/status)."""
        out: dict[str, int] = {}
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith(("VmHWM:", "VmRSS:")):
                        key, value = line.split(":", 1)
                        out[key] = int(value.split()[0])
        except OSError:
            pass
        return out

    def quit(self, keys: bytes = b"q", timeout_s: float = 15.0) -> tuple[int | None, float]:
        """Send ``keys``, wait for the exit; SIGTERM then SIGKILL this child if it hangs.

        Returns:
            (exit code or None when it had to be killed, seconds it took to exit).
        """
        t0 = time.perf_counter()
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.send(keys)
        code: int | None
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            code = None
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(5)
                    break
                except subprocess.TimeoutExpired:
                    continue
        elapsed = time.perf_counter() - t0
        self._reader.join(2)
        with contextlib.suppress(OSError):
            os.close(self.master)
        return code, elapsed
