"""``${Var}`` substitution in instructions, from run inputs and upstream step outputs."""

from __future__ import annotations

import re
from collections.abc import Mapping

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.errors import WorkflowInputError

VAR_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace every ``${Name}`` whose value is known; unknown references stay as written.

    Unknown references are left alone rather than raising: validation already
    rejected variables nobody writes, so what remains is text that merely looks
    like a reference (or a variable of a skipped step, which has no value).
    """

    def replace(match: re.Match[str]) -> str:
        return variables.get(match.group(1), match.group(0))

    return VAR_PATTERN.sub(replace, text)


def references(text: str) -> list[str]:
    """The variable names ``text`` refers to, in order of first appearance."""
    return list(dict.fromkeys(VAR_PATTERN.findall(text)))


def resolve_inputs(spec: WorkflowSpec, given: Mapping[str, str]) -> dict[str, str]:
    """The run's inputs: ``given`` checked against the declared inputs, defaults applied."""
    declared = {item.name: item for item in spec.inputs}
    unknown = sorted(set(given) - declared.keys())
    if unknown:
        raise WorkflowInputError(
            f"workflow {spec.name!r} has no input(s) {', '.join(unknown)}; "
            f"declared inputs: {', '.join(declared) or '(none)'}"
        )
    values: dict[str, str] = {}
    missing: list[str] = []
    for name, item in declared.items():
        if name in given:
            values[name] = str(given[name])
        elif item.default is not None:
            values[name] = item.default
        elif item.required:
            missing.append(name)
        else:
            values[name] = ""
    if missing:
        flags = " ".join(f"-i {name}=VALUE" for name in missing)
        raise WorkflowInputError(
            f"workflow {spec.name!r} needs input(s) {', '.join(missing)}; pass {flags}"
        )
    return values
