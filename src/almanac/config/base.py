"""What every params section shares: the strict, frozen base model whose docstring lists its fields
(:class:`Section`), the date and ``HH:MM`` types, and the error of a check across keys that names the key at fault.

Names with a leading underscore are private to :mod:`almanac.config`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import inspect
import re
import textwrap
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict


class _KeyError(ValueError):
    """A check across keys of one section, naming the key at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _as_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD")


Date = Annotated[dt.date, BeforeValidator(_as_date)]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_cutoff(text: str) -> dt.time:
    """``'10:15'`` -> ``datetime.time(10, 15)``; a ValueError saying the form for anything else."""
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ValueError(f"{text!r} is not a time HH:MM (ET, 24-hour), e.g. '10:15'")
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _rule(field) -> str:
    bounds = {}
    for item in field.metadata:
        for name in _BOUNDS:
            if getattr(item, name, None) is not None:
                bounds[name] = getattr(item, name)
    if "ge" in bounds and "le" in bounds:
        return f"must be between {bounds['ge']} and {bounds['le']}"
    return "must be " + " and ".join(f"{_BOUNDS[k]} {v}" for k, v in bounds.items())


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is Literal:
        return "{" + ", ".join(repr(v) for v in typing.get_args(annotation)) + "}"
    if annotation is dt.date:
        return "datetime.date"
    return getattr(annotation, "__name__", str(annotation))


def _parameters(model: type[BaseModel]) -> str:
    """The numpydoc ``Parameters`` section of a params model, from its fields: type, default, bounds, meaning."""
    lines = ["Parameters", "----------"]
    for name, field in model.model_fields.items():
        if field.default_factory is not None:
            default = f"{field.default_factory.__name__}()"  # a section: its own defaults
        else:
            default = str(field.default) if isinstance(field.default, dt.date) else repr(field.default)
        lines.append(f"{name} : {_type_name(field.annotation)}, default {default}")
        if field.default_factory is not None and not field.description:
            lines.append(f"    the ``{name}.*`` block: the keys of :class:`{field.annotation.__name__}`")
        rule = _rule(field) if any(hasattr(m, k) for m in field.metadata for k in _BOUNDS) else ""
        text = (field.description or "").strip() + (f"; {rule}" if rule else "")
        lines.extend(textwrap.wrap(text, 112, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


SECTION_RAISES = """Raises
------
pydantic.ValidationError
    An unknown key, a value of the wrong type (strictly typed: ``'14'`` is no ``int``) or out of its bounds;
    through :func:`load_params` the same problem is a :class:`ParamsError` naming the dotted key."""


def _document_fields(model: type[BaseModel]) -> None:
    """Put the ``Parameters`` section, generated from the fields, after the summary of ``model``'s docstring (the
    defaults are declared once, in the fields), and the ``Raises`` every section shares unless it says its own."""
    doc = inspect.cleandoc(model.__doc__ or "")
    match = re.search(r"^\w[\w ]*\n-+$", doc, re.M)
    head, tail = (doc[: match.start()].rstrip(), doc[match.start() :]) if match else (doc.rstrip(), "")
    raises = "" if re.search(r"^Raises\n-+$", tail, re.M) else SECTION_RAISES
    model.__doc__ = "\n\n".join(part for part in (head, _parameters(model), raises, tail) if part) + "\n"


class Section(BaseModel):
    """Base of every params section: unknown keys are errors, values are immutable and strictly typed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Generate each section's ``Parameters`` docstring section from its fields."""
        super().__pydantic_init_subclass__(**kwargs)
        _document_fields(cls)


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _closest(name: str, allowed: list[str]) -> str:
    match = difflib.get_close_matches(name, allowed, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""
