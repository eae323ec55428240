"""A user's alert filter, ``diaSource.snr > 20 and diaObject.nDiaSources >= 3``, parsed safely.

The text is parsed with :mod:`ast` and only a whitelist is accepted: field references
(``diaSourceId``, ``diaSource.snr``, ``diaObject.r_psfFluxNdata``: names from the alert
schema), numbers, strings, True/False/None, ``and``/``or``/``not``, comparisons (``== != < <=
> >= in not in``), arithmetic (``+ - * / abs()``) and tuples/lists of constants for ``in``.
Anything else (calls, subscripts, lambdas, comprehensions, dunder attributes) is refused
before any packet is read. Nothing is ever given to ``eval``: the tree is turned into plain
closures. A packet the expression cannot be evaluated on (a null field compared with a
number) raises :class:`FilterError`; the filter counts it and goes on.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from functools import cache
from typing import Any

from dmcs.payloads.association.alerts import alert_schema

Packet = dict[str, Any]
Evaluator = Callable[[Packet], Any]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class FilterError(ValueError):
    """A filter expression that cannot be used, or cannot be evaluated on one packet."""


@cache
def alert_fields() -> dict[str, frozenset[str] | None]:
    """Top-level alert fields: the field names of those that are records, None otherwise."""
    fields: dict[str, frozenset[str] | None] = {}
    for field in alert_schema().definition["fields"]:
        types = field["type"] if isinstance(field["type"], list) else [field["type"]]
        record = next((t for t in types if isinstance(t, dict) and t.get("type") == "record"),
                      None)
        fields[field["name"]] = (frozenset(f["name"] for f in record["fields"])
                                 if record is not None else None)
    return fields


def _field_path(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        inner = _field_path(node.value)
        return None if inner is None else [*inner, node.attr]
    return None


def _reference(path: list[str]) -> Evaluator:
    fields = alert_fields()
    top = path[0]
    if top not in fields:
        raise FilterError(f"unknown field {top!r}; alert fields: {', '.join(fields)}")
    nested = fields[top]
    if len(path) == 1:
        return lambda packet: packet.get(top)
    if nested is None or len(path) > 2:
        raise FilterError(f"unknown field {'.'.join(path)!r}: {top} has no fields")
    name = path[1]
    if name not in nested:
        raise FilterError(f"unknown field '{top}.{name}'")

    def value(packet: Packet) -> Any:
        record = packet.get(top)
        return None if record is None else record.get(name)

    return value


def _build(node: ast.expr) -> Evaluator:
    path = _field_path(node)
    if path is not None:
        return _reference(path)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool
                                                     | type(None)):
        constant = node.value
        return lambda packet: constant
    if isinstance(node, ast.Tuple | ast.List):
        items = [_build(item) for item in node.elts]
        return lambda packet: tuple(item(packet) for item in items)
    if isinstance(node, ast.BoolOp):
        parts = [_build(value) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda packet: all(part(packet) for part in parts)
        return lambda packet: any(part(packet) for part in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        operand = _build(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda packet: not operand(packet)
        return lambda packet: -operand(packet)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right, apply = _build(node.left), _build(node.right), _ARITHMETIC[type(node.op)]
        return lambda packet: apply(left(packet), right(packet))
    if isinstance(node, ast.Compare):
        return _comparison(node)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "abs" and len(node.args) == 1 and not node.keywords):
        argument = _build(node.args[0])
        return lambda packet: abs(argument(packet))
    raise FilterError(f"not allowed in a filter: {ast.unparse(node)!r} "
                      f"({type(node).__name__})")


def _comparison(node: ast.Compare) -> Evaluator:
    operands = [_build(node.left), *(_build(c) for c in node.comparators)]
    tests = [_COMPARE[type(op)] for op in node.ops]

    def compare(packet: Packet) -> bool:
        values = [operand(packet) for operand in operands]
        return all(test(a, b) for test, a, b in zip(tests, values, values[1:], strict=False))

    return compare


class AlertFilter:
    """A compiled filter: ``matches(packet)`` is True, False, or raises FilterError."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as err:
            raise FilterError(f"syntax error in filter {text!r} at column {err.offset}: "
                              f"{err.msg}") from None
        self._evaluate = _build(tree.body)

    def matches(self, packet: Packet) -> bool:
        try:
            return bool(self._evaluate(packet))
        except (TypeError, ZeroDivisionError, ArithmeticError) as err:
            raise FilterError(f"filter {self.text!r} fails on alert "
                              f"{packet.get('diaSourceId')}: {err}") from None
