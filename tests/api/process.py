"""A real ``orchestra serve`` process for tests (stdout captured to a file)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ORCHESTRA = Path(sys.executable).parent / "orchestra"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One ``orchestra serve`` process; stdout goes to a file we can read while it runs."""

    def __init__(
        self, project: Path, port: int, *extra: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = port
        self.log = project / f"serve-{time.monotonic_ns()}.out"
        self._out = self.log.open("w")
        self.process = subprocess.Popen(
            [str(ORCHESTRA), "serve", "--project", str(project), "--port", str(port), *extra],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
        )
        self.base = f"http://127.0.0.1:{port}"

    def wait_ready(self) -> None:
        """Wait for the server's own readiness signal (``/readyz`` answering 200), however
        long a loaded machine takes to get there; fail as soon as the process exits.

        No deadline of its own: a server that hangs starting is caught by the test's
        timeout (pytest-timeout), not by a guess of how slow the machine may be.
        """
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited ({self.process.returncode}) before it was ready:\n"
                    f"{self.output()}"
                )
            try:
                if httpx.get(f"{self.base}/readyz", timeout=30).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
