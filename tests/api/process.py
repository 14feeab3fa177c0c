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

    def wait_ready(self, timeout_s: float = 600) -> None:
        """Wait for the server's own readiness signal (``/readyz`` answers 200) or its
        exit; ``timeout_s`` only bounds a server that hangs, so it is generous: a loaded
        machine takes a minute to start one."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready:\n{self.output()}")

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
