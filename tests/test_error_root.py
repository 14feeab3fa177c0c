"""One error root: every exception class Orchestra defines belongs to a family of
``orchestra.errors`` (so the API answers it by family, never as a silent 500), except
private control-flow exceptions and the API's own answer type."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import orchestra
from orchestra.errors import ControlSignal, OrchestraError, RuntimeFailure, UserMistake

SKIP_MODULES = {"orchestra.store.migrations.env"}  # runs only inside Alembic
ALLOWED = {"orchestra.api.errors.ApiError"}  # already an HTTP answer, not an error kind


def defined_exceptions() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for module_info in pkgutil.walk_packages(orchestra.__path__, "orchestra."):
        if module_info.name in SKIP_MODULES or module_info.name.startswith("orchestra.web"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module_info.name
                and not name.startswith("_")
            ):
                found.append(value)
    return found


def test_every_public_exception_is_in_a_family() -> None:
    classes = defined_exceptions()
    assert len(classes) > 40  # the walk really found the packages' errors
    outside = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in classes
        if f"{kind.__module__}.{kind.__qualname__}" not in ALLOWED
        and not issubclass(kind, OrchestraError)
    ]
    assert outside == []
    # Package bases (StoreError, LLMError …) may sit between the root and the families;
    # every error with no subclass of its own must pick a family.
    leaves = [k for k in classes if not any(o is not k and issubclass(o, k) for o in classes)]
    familyless = [
        kind.__qualname__
        for kind in leaves
        if issubclass(kind, OrchestraError)
        and not issubclass(kind, UserMistake | RuntimeFailure | ControlSignal)
    ]
    assert familyless == []
