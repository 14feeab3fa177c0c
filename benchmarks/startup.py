"""Start-up time of each ``orchestra`` command against ``python -c pass`` (prints, asserts nothing).

Each command runs ``--repeat`` times in a fresh process on a small scripted project;
the medians are printed next to the floor measured in the same run, so figures from a
loaded machine still compare (read the ratio). ``serve`` is timed until ``/healthz``
answers. Targets on a quiet machine: ``--help`` <= 150 ms; ``validate``, ``show``,
``runs list|show|events``, ``keys``, ``config`` <= 400 ms; ``serve`` /healthz <= 2 s.

Bytecode: with ``PYTHONDONTWRITEBYTECODE`` set (as on our CI machines) every start
compiles every module from source, which is not what a user's install does. By default
the commands get a private ``PYTHONPYCACHEPREFIX`` warmed by one untimed run, so they
start as an installed tool does; ``--cold`` keeps the environment as it is.

Run: ``uv run python benchmarks/startup.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ORCHESTRA = str(Path(sys.executable).parent / "orchestra")

AGENT = "---\nname: writer\nmodel: scripted/echo\n---\nYou write.\n"
WORKFLOW = """---
name: note
inputs:
  Topic: {required: true}
---
## Step: draft
* **Agent:** [Writer](../agents/writer.agent.md)
* **Input:** ${Topic}
* **Output:** ${Draft}

Draft a note about ${Topic}.
"""
TARGETS_MS = {"--help": 150, "serve /healthz": 2000}


def make_project(root: Path) -> None:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text('[models]\ndefault = "scripted/echo"\ncache = "off"\n')
    (root / "agents" / "writer.agent.md").write_text(AGENT)
    (root / "workflows" / "note.workflow.md").write_text(WORKFLOW)


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system) of each command's process: on a loaded machine wall time
mostly measures the wait for a core, CPU time what the command itself costs."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: Path, env: dict[str, str], name: str = "") -> float:
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()}")
    if name:
        CPU.setdefault(name, []).append(_children_cpu() - cpu)
    return took


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_until_healthy(cwd: Path, env: dict[str, str]) -> float:
    """Seconds from spawning ``orchestra serve`` to the first 200 from /healthz."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [ORCHESTRA, "serve", "--insecure-local", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        while True:
            if server.poll() is not None:
                stderr = server.stderr.read().decode() if server.stderr else ""
                raise SystemExit(f"serve exited ({server.returncode}): {stderr}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.01)  # polling: the server has no other readiness signal to us
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median kept)")
    parser.add_argument("--cold", action="store_true", help="keep PYTHONDONTWRITEBYTECODE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="orchestra-startup-") as tmp:
        root = Path(tmp) / "project"
        make_project(root)
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
        if not args.cold:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        first = subprocess.run(
            [ORCHESTRA, "run", "note", "-i", "Topic=owls", "--json"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        run_id = json.loads(first.stdout.splitlines()[0])["run_id"]
        commands: dict[str, list[str]] = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "--help": [ORCHESTRA, "--help"],
            "validate": [ORCHESTRA, "validate"],
            "show workflow": [ORCHESTRA, "show", "workflow", "note"],
            "runs list": [ORCHESTRA, "runs", "list"],
            "runs show": [ORCHESTRA, "runs", "show", run_id],
            "runs events": [ORCHESTRA, "runs", "events", run_id],
            "keys list": [ORCHESTRA, "keys", "list"],
            "config show": [ORCHESTRA, "config", "show"],
        }
        for argv in commands.values():  # warm the bytecode cache and the OS's file cache
            timed(argv, root, env)
        serve_until_healthy(root, env)
        times: dict[str, list[float]] = {name: [] for name in [*commands, "serve /healthz"]}
        for _ in range(args.repeat):  # interleaved, so a burst of load hits every command
            for name, argv in commands.items():
                times[name].append(timed(argv, root, env, name))
            times["serve /healthz"].append(serve_until_healthy(root, env))
        medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["python -c pass"]
    print(
        f"{'command':<16}{'median ms':>10}{'- floor ms':>12}{'x floor':>9}{'cpu ms':>8}"
        f"{'target ms':>11}"
    )
    for name, median in medians.items():
        target = TARGETS_MS.get(name, 0 if name == "python -c pass" else 400)
        cpu = f"{statistics.median(CPU[name]) * 1000:.0f}" if name in CPU else "-"
        print(
            f"{name:<16}{median * 1000:>10.0f}{(median - floor) * 1000:>12.0f}"
            f"{median / floor:>9.1f}{cpu:>8}{target or '':>11}"
        )
    print(
        f"({args.repeat} runs each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus)"
    )


if __name__ == "__main__":
    main()
