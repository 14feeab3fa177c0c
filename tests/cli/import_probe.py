"""Runs ``orchestra`` in this process and reports which modules it imported.

``python import_probe.py OUT ARGS...`` runs ``orchestra ARGS...`` and, at exit, writes the
names in ``sys.modules`` to the file OUT, one a line. With ``ORCHESTRA_PROBE_GATE`` set to
a FIFO's path, ``import litellm`` blocks until a line is written to that FIFO: a test can
then show that a command answers before LiteLLM is imported, with no timing involved.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

OUT = Path(sys.argv[1])


class _GatedLoader(importlib.abc.Loader):
    """Runs the real loader once a line arrives on the FIFO. It blocks in ``exec_module``,
    under the module's own lock: a finder would block with the global import lock held."""

    def __init__(self, real: importlib.abc.Loader, fifo: str) -> None:
        self.real = real
        self.fifo = fifo

    def __getattr__(self, name: str) -> object:  # resource readers etc. of the real loader
        return getattr(self.real, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with open(self.fifo, encoding="utf-8") as gate:  # blocks until a writer opens it
            gate.readline()
        self.real.exec_module(module)


class _Gate(importlib.abc.MetaPathFinder):
    def __init__(self, fifo: str) -> None:
        self.fifo = fifo

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "litellm":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _GatedLoader(spec.loader, self.fifo)
        return spec


def _report() -> None:
    OUT.write_text("\n".join(sorted(sys.modules)) + "\n", "utf-8")


if os.environ.get("ORCHESTRA_PROBE_GATE"):
    sys.meta_path.insert(0, _Gate(os.environ["ORCHESTRA_PROBE_GATE"]))
atexit.register(_report)
sys.argv = ["orchestra", *sys.argv[2:]]

from orchestra.cli.main import run  # noqa: E402 - after the gate is in place

run()
