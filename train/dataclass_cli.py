"""A command line from an arguments dataclass: one ``--flag`` per field, its help the field's docstring.

The training scripts keep their arguments as a dataclass with a docstring under each field (CleanRL style, as tyro
reads them). tyro is not a dependency here, so this reads those docstrings with :mod:`ast` and builds an
:mod:`argparse` parser: ``--field-name VALUE`` for scalars, ``--flag/--no-flag`` for booleans, several values for
tuples and lists, ``none`` for an optional value.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap
import types
import typing
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def field_docstrings(cls: type) -> dict[str, str]:
    """The docstring under each field of the dataclass ``cls`` (a string literal right after the annotation)."""
    source = textwrap.dedent(inspect.getsource(cls))
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    statements = body.body
    for statement, following in zip(statements, statements[1:]):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = " ".join(following.value.value.split())
    return docs


def _optional_inner(annotation: Any) -> tuple[Any, bool]:
    """(the type inside ``X | None``, True) or (annotation, False)."""
    args = typing.get_args(annotation)
    if (typing.get_origin(annotation) in (typing.Union, types.UnionType)) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return inner[0], True
    return annotation, False


def _scalar_parser(kind: Any, optional: bool, flag: str):
    def parse(text: str) -> Any:
        if optional and text.lower() == "none":
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: expected {kind.__name__}, got {text!r}") from None

    return parse


def build_parser(cls: type, description: str | None = None) -> argparse.ArgumentParser:
    """An argparse parser with one option per field of the dataclass ``cls`` (defaults shown in the help)."""
    hints = typing.get_type_hints(cls)
    docs = field_docstrings(cls)
    parser = argparse.ArgumentParser(
        description=description or (cls.__doc__ or "").strip(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default_factory() if callable(f.default_factory) else f.default  # MISSING is not callable
        help_text = f"{docs.get(f.name, '')} (default: {default!r})"
        annotation, optional = _optional_inner(hints[f.name])
        origin = typing.get_origin(annotation)
        if annotation is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        elif origin in (tuple, list):
            item = typing.get_args(annotation)[0]
            parser.add_argument(
                flag, nargs="*", type=_scalar_parser(item, False, flag), default=default, help=help_text
            )
        else:
            parser.add_argument(flag, type=_scalar_parser(annotation, optional, flag), default=default, help=help_text)
    return parser


def parse_args(cls: type[T], argv: list[str] | None = None, description: str | None = None) -> T:
    """Parse ``argv`` (default ``sys.argv[1:]``) into an instance of the dataclass ``cls``."""
    namespace = build_parser(cls, description).parse_args(argv)
    values = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        value = getattr(namespace, f.name)
        if typing.get_origin(_optional_inner(hints[f.name])[0]) is tuple and value is not None:
            value = tuple(value)
        values[f.name] = value
    return cls(**values)


__all__ = ["build_parser", "parse_args", "field_docstrings"]
