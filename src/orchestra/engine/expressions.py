"""The ``When:`` condition language: small, safe, parsed here (never ``eval``).

Grammar (lowest precedence first)::

    expr    := and_ ("or" and_)*
    and_    := not_ ("and" not_)*
    not_    := "not" not_ | compare
    compare := atom (("==" | "!=" | "<" | ">" | "<=" | ">=" | "in" | "not in" | "contains") atom)?
    atom    := STRING | NUMBER | "true" | "false" | "${" NAME "}" | "(" expr ")"

Values are strings, numbers and booleans. ``==``/``!=``/``<``/``>`` compare as
numbers when both sides read as numbers, otherwise as strings. ``a in b`` and
``b contains a`` test substring membership. A value on its own is true unless it
is ``false``, ``0``, the empty string or (for text) one of ``false``, ``no``,
``0`` (any case). Every failure raises :class:`ExpressionError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from orchestra.engine.errors import ExpressionError

Value = str | float | bool

_MAX_DEPTH = 64
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<var>\$\{[A-Za-z_][A-Za-z0-9_]*\})
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+))
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>|\(|\))
  | (?P<word>[A-Za-z_]+)
    """,
    re.VERBOSE,
)
_WORDS = {"and", "or", "not", "in", "contains", "true", "false"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)

TokenKind = Literal["var", "number", "string", "op", "word", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Value


@dataclass(frozen=True, slots=True)
class _Var:
    name: str


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Bool:
    op: Literal["and", "or"]
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Compare:
    op: str
    left: _Node
    right: _Node


_Node = _Literal | _Var | _Not | _Bool | _Compare


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ExpressionError(
                f"unexpected character {text[pos]!r}", expression=text, position=pos
            )
        kind = match.lastgroup
        value = match.group()
        if kind == "word" and value not in _WORDS:
            raise ExpressionError(
                f"unknown word {value!r} (variables are written ${{{value}}}, text is quoted)",
                expression=text,
                position=pos,
            )
        if kind != "ws":
            tokens.append(_Token(kind, value, pos))  # type: ignore[arg-type]
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: _Token) -> ExpressionError:
        return ExpressionError(message, expression=self.text, position=token.pos)

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise self.error("empty condition", self.peek())
        node = self.expr()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().text!r}", self.peek())
        return node

    def expr(self) -> _Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("condition nested too deeply", self.peek())
        node = self.and_()
        while self.peek().text == "or" and self.peek().kind == "word":
            self.advance()
            node = _Bool("or", node, self.and_())
        self.depth -= 1
        return node

    def and_(self) -> _Node:
        node = self.not_()
        while self.peek().text == "and" and self.peek().kind == "word":
            self.advance()
            node = _Bool("and", node, self.not_())
        return node

    def not_(self) -> _Node:
        if self.peek().kind == "word" and self.peek().text == "not":
            self.advance()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error("condition nested too deeply", self.peek())
            node = _Not(self.not_())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> _Node:
        left = self.atom()
        token = self.peek()
        if token.kind == "op" and token.text in {"==", "!=", "<", ">", "<=", ">="}:
            self.advance()
            return _Compare(token.text, left, self.atom())
        if token.kind == "word" and token.text in {"in", "contains"}:
            self.advance()
            return _Compare(token.text, left, self.atom())
        if token.kind == "word" and token.text == "not":
            following = self.tokens[self.index + 1]
            if following.kind == "word" and following.text == "in":
                self.index += 2
                return _Compare("not in", left, self.atom())
        return left

    def atom(self) -> _Node:
        token = self.advance()
        if token.kind == "string":
            return _Literal(_ESCAPE.sub(r"\1", token.text[1:-1]))
        if token.kind == "number":
            return _Literal(float(token.text))
        if token.kind == "var":
            return _Var(token.text[2:-1])
        if token.kind == "word" and token.text in {"true", "false"}:
            return _Literal(token.text == "true")
        if token.kind == "op" and token.text == "(":
            node = self.expr()
            closing = self.advance()
            if closing.text != ")":
                raise self.error("missing ')'", closing)
            return node
        if token.kind == "end":
            raise self.error("condition ends too early", token)
        raise self.error(f"expected a value, got {token.text!r}", token)


def _number(value: Value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    try:
        return float(value.strip())
    except ValueError:
        return None


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def truthy(value: Value) -> bool:
    """The truth of a value standing on its own (see the module docstring)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0
    return value.strip().lower() not in {"", "false", "no", "0"}


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in {"in", "not in"}:
        found = _text(left) in _text(right)
        return found if op == "in" else not found
    if op == "contains":
        return _text(right) in _text(left)
    a, b = _number(left), _number(right)
    pair: tuple[float, float] | tuple[str, str]
    if a is not None and b is not None:
        pair = (a, b)
    elif isinstance(left, bool) or isinstance(right, bool):
        pair = (_text(left).lower(), _text(right).lower())
    else:
        pair = (_text(left), _text(right))
    x, y = pair
    if op == "==":
        return x == y
    if op == "!=":
        return x != y
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]


class Condition:
    """A parsed ``When:`` condition. Parse once, evaluate against the run's variables."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._root = _Parser(text).parse()
        names: list[str] = []
        _collect(self._root, names)
        self.variables: tuple[str, ...] = tuple(dict.fromkeys(names))

    def evaluate(self, variables: Mapping[str, str]) -> bool:
        """True when the step should run. A variable with no value raises ExpressionError."""
        return truthy(self._eval(self._root, variables))

    def _eval(self, node: _Node, variables: Mapping[str, str]) -> Value:
        if isinstance(node, _Literal):
            return node.value
        if isinstance(node, _Var):
            try:
                return variables[node.name]
            except KeyError:
                raise ExpressionError(
                    f"variable ${{{node.name}}} has no value (it is not an input and no "
                    "finished step wrote it)",
                    expression=self.text,
                ) from None
        if isinstance(node, _Not):
            return not truthy(self._eval(node.operand, variables))
        if isinstance(node, _Bool):
            left = truthy(self._eval(node.left, variables))
            if node.op == "and":
                return left and truthy(self._eval(node.right, variables))
            return left or truthy(self._eval(node.right, variables))
        return _compare(
            node.op, self._eval(node.left, variables), self._eval(node.right, variables)
        )


def _collect(node: _Node, names: list[str]) -> None:
    if isinstance(node, _Var):
        names.append(node.name)
    elif isinstance(node, _Not):
        _collect(node.operand, names)
    elif isinstance(node, _Bool | _Compare):
        _collect(node.left, names)
        _collect(node.right, names)


def parse_condition(text: str) -> Condition:
    """Parse a ``When:`` condition, raising :class:`ExpressionError` with the column on error."""
    return Condition(text)
