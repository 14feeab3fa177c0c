"""Real processes for the distributed tests: redis-server (restartable on its port),
``orchestra worker`` and ``orchestra run`` / ``serve`` on one shared PostgreSQL database.

A project here has a DAG with parallel branches (``fan``: a → b, c → d) whose agents
use ``scripted/echo-after-<N>ms`` (an offline model with latency, in any process),
and a ``gpu`` agent routed to its own queue through ``[distributed.routes]``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ORCHESTRA = Path(sys.executable).parent / "orchestra"

AGENT = """---
name: {name}
model: {model}
description: {name} agent for distributed tests
capabilities: [testing]
---
You answer tests.
"""

FAN = """---
name: fan
description: One step, two parallel branches (one on the gpu queue), one join.
---
## Step: a
* **Agent:** [Cpu](../agents/cpu.agent.md)
* **Output:** ${A}

Start.

## Step: b
* **Agent:** [Cpu](../agents/cpu.agent.md)
* **Input:** ${A}
* **Output:** ${B}

Branch b of ${A}.

## Step: c
* **Agent:** [Gpu](../agents/gpu.agent.md)
* **Input:** ${A}
* **Output:** ${C}

Branch c of ${A}.

## Step: d
* **Agent:** [Cpu](../agents/cpu.agent.md)
* **Input:** ${B}, ${C}
* **Output:** ${D}

Join ${B} and ${C}.
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_project(
    root: Path, database_url: str, broker_url: str, *, delay_ms: int = 300, lease_s: float = 3
) -> Path:
    (root / "agents").mkdir(parents=True, exist_ok=True)
    (root / "workflows").mkdir(exist_ok=True)
    (root / "orchestra.toml").write_text(
        f"""[models]
default = "cpu-model"
cache = "off"

[[models.model_list]]
model_name = "cpu-model"
litellm_params = {{ model = "scripted/echo-after-{delay_ms}ms" }}

[[models.model_list]]
model_name = "gpu-a"
litellm_params = {{ model = "scripted/echo-after-{delay_ms}ms" }}

[database]
url = "{database_url}"

[engine]
lease_seconds = {lease_s}

[distributed]
broker_url = "{broker_url}"
reconcile_seconds = 0.5

[distributed.routes]
"model:gpu-a" = "gpu-a"
"""
    )
    (root / "agents" / "cpu.agent.md").write_text(AGENT.format(name="cpu", model="cpu-model"))
    (root / "agents" / "gpu.agent.md").write_text(AGENT.format(name="gpu", model="gpu-a"))
    (root / "workflows" / "fan.workflow.md").write_text(FAN)
    return root


class RedisServer:
    """A redis-server on a fixed free port without persistence: a restart loses everything."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (scripts/services.sh installs it)"
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while True:  # readiness: the port answers (bounded by the test's timeout)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert self.process.poll() is None, "redis-server exited at start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


class Proc:
    """An ``orchestra`` sub-command with its output in a file."""

    def __init__(self, project: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = project / f"{args[0]}-{time.monotonic_ns()}.out"
        self._out = self.log.open("w")
        self.process = subprocess.Popen(
            [str(ORCHESTRA), *args, "--project", str(project)],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, text: str) -> None:
        """Until ``text`` is printed (fails at once if the process exits first)."""
        while text not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode}:\n{self.output()}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


def start_worker(project: Path, name: str, queues: str, concurrency: int = 4) -> Proc:
    worker = Proc(
        project, "worker", "--name", name, "--queues", queues, "--concurrency", str(concurrency)
    )
    worker.wait_for(f"worker {name} ready")
    return worker
