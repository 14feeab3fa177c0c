import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestra.engine.errors import ExpressionError
from orchestra.engine.expressions import parse_condition

VARS = {"Lang": "python", "Count": "12", "Flag": "false", "Text": "hello world", "Empty": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('${Lang} == "python"', True),
        ("${Lang} != 'python'", False),
        ("${Count} > 9", True),  # numeric, not string, comparison
        ("${Count} < 9", False),
        ("${Count} >= 12 and ${Count} <= 12", True),
        ('"world" in ${Text}', True),
        ('"mars" not in ${Text}', True),
        ('${Text} contains "hello"', True),
        ("${Flag}", False),
        ("not ${Flag}", True),
        ("${Empty}", False),
        ('${Lang} == "go" or (${Count} > 10 and not ${Flag})', True),
        ("true and false", False),
        ("(((true)))", True),
        (r'"a\"b" == "a\"b"', True),
        ("1.5 < 2", True),
    ],
)
def test_evaluates(text: str, expected: bool) -> None:
    assert parse_condition(text).evaluate(VARS) is expected


def test_and_binds_tighter_than_or() -> None:
    assert parse_condition("true or false and false").evaluate({}) is True
    assert parse_condition("(true or false) and false").evaluate({}) is False


def test_lists_variables() -> None:
    assert parse_condition("${A} == ${B} or ${A} > 1").variables == ("A", "B")


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("", 1),
        ("${A} ==", 8),
        ("(${A}", 6),
        ("${A} = 1", 6),
        ("__import__('os')", 1),
        ("${A} == 1 2", 11),
        ('"unterminated', 1),
    ],
)
def test_rejects_with_position(text: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_condition(text)
    assert caught.value.position == column - 1
    assert "docs/engine.md" in str(caught.value)


def test_unknown_variable_raises_our_error() -> None:
    with pytest.raises(ExpressionError, match=r"\$\{Missing\} has no value"):
        parse_condition("${Missing} == 1").evaluate({})


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_condition("(" * 500 + "true" + ")" * 500)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_condition("not " * 500 + "true")


ALPHABET = st.sampled_from(
    [
        "${A}",
        "${B}",
        " ",
        "(",
        ")",
        "==",
        "!=",
        "<",
        ">",
        "<=",
        ">=",
        "and",
        "or",
        "not",
        "in",
        "contains",
        '"x"',
        "'y'",
        "1",
        "2.5",
        "-3",
        "true",
        "false",
        "$",
        "{",
        "\\",
        '"',
    ]
)


@given(st.lists(ALPHABET, max_size=30).map(" ".join))
def test_fuzz_tokens_only_raise_expression_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ExpressionError:
        return
    with contextlib.suppress(ExpressionError):
        assert isinstance(condition.evaluate({"A": "1", "B": "x"}), bool)


@given(st.text(max_size=60))
def test_fuzz_any_text_only_raises_expression_error(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        parse_condition(text).evaluate({"A": "1"})
